"""Exact embedding of an EDSR-baseline encoder into an RDN (config B) encoder.

An RDN with G0 = G = 64 can compute an EDSR-baseline encoder exactly, which gives LIIF-RDN a
starting point as good as the official EDSR-baseline-LIIF weights:

* ``SFENet1`` takes EDSR's head conv, so RDN's global skip ``+ shallow`` is EDSR's ``+ head(x)``;
  ``SFENet2`` is an identity 3×3 conv.
* An EDSR residual block ``y = x + B(relu(A(x)))`` needs three dense convs:
  ``o1 = relu(A x)``, ``o2 = relu(B o1)``, ``o3 = relu(-B o1)``; then ``y = x + o2 - o3``
  because ``relu(z) - relu(-z) = z``. The next block reads ``y`` through the dense connections
  by repeating its weights on the ``x``, ``o2`` and ``-o3`` channel groups (a convolution of a
  linear combination is the linear combination of convolutions, zero padding included).
  One RDB of 8 convs therefore holds two EDSR blocks, and its 1×1 local fusion (LFF) outputs
  ``o2 - o3 + o5 - o6``; the block's own skip adds ``x``.
* 8 RDBs hold EDSR's 16 blocks; the remaining RDBs are identities (LFF weight and bias zero).
  ``GFF.0`` selects the last block's output and ``GFF.1`` takes EDSR's final body conv.
* Dense convs that the embedding does not use keep their random initialisation but their LFF
  weights are zero, so the output is unchanged and fine-tuning can still grow them (a ReLU of
  all-zero weights would get no gradient).
"""

from __future__ import annotations

import copy
from typing import Any

import torch
from torch import nn

from liif_desktop.model import LIIF, build_liif
from liif_desktop.model.edsr import EDSREncoder, ResidualBlock
from liif_desktop.model.rdn import RDNEncoder, ResidualDenseBlock

#: The official LIIF-RDN spec (config B, 64 features).
RDN_LIIF_ARGS: dict[str, Any] = {
    "encoder_spec": {"name": "rdn", "args": {"no_upsampling": True}},
    "imnet_spec": {"name": "mlp", "args": {"out_dim": 3, "hidden_list": [256, 256, 256, 256]}},
}


def _conv(module: nn.Module) -> nn.Conv2d:
    assert isinstance(module, nn.Conv2d), type(module)
    return module


def _bias(conv: nn.Conv2d) -> torch.Tensor:
    assert conv.bias is not None
    return conv.bias


def _dense_conv(block: ResidualDenseBlock, index: int) -> nn.Conv2d:
    return _conv(block.convs.get_submodule(f"{index}.conv.0"))


def _set(conv: nn.Conv2d, weight: torch.Tensor, bias: torch.Tensor) -> None:
    conv.weight.copy_(weight)
    _bias(conv).copy_(bias)


def _embed_block_pair(
    rdb: ResidualDenseBlock, first: ResidualBlock, second: ResidualBlock, width: int
) -> None:
    """Make ``rdb`` compute EDSR residual block ``first`` followed by ``second``."""

    def group(c: int) -> slice:  # input channels of dense output c (0 = the block input x)
        return slice(c * width, (c + 1) * width)

    def set_conv(index: int, parts: dict[int, torch.Tensor], bias: torch.Tensor) -> None:
        conv = _dense_conv(rdb, index)
        weight = torch.zeros_like(conv.weight)
        for c, w in parts.items():
            weight[:, group(c)] = w
        _set(conv, weight, bias)

    blocks = []
    for edsr_block in (first, second):
        conv_a, conv_b = _conv(edsr_block.body[0]), _conv(edsr_block.body[2])
        blocks.append((conv_a.weight, _bias(conv_a), conv_b.weight, _bias(conv_b)))
    (a1, a1b, b1, b1b), (a2, a2b, b2, b2b) = blocks
    set_conv(0, {0: a1}, a1b)  # o1 = relu(A1 x)
    set_conv(1, {1: b1}, b1b)  # o2 = relu(r1),  r1 = B1 o1
    set_conv(2, {1: -b1}, -b1b)  # o3 = relu(-r1)
    set_conv(3, {0: a2, 2: a2, 3: -a2}, a2b)  # o4 = relu(A2 (x + o2 - o3))
    set_conv(4, {4: b2}, b2b)  # o5 = relu(r2)
    set_conv(5, {4: -b2}, -b2b)  # o6 = relu(-r2)
    eye = torch.eye(width).view(width, width, 1, 1)
    lff = torch.zeros_like(rdb.LFF.weight)
    for c, sign in ((2, 1.0), (3, -1.0), (5, 1.0), (6, -1.0)):
        lff[:, group(c)] = sign * eye
    _set(rdb.LFF, lff, torch.zeros(width))


@torch.no_grad()
def embed_edsr_in_rdn(edsr: EDSREncoder, rdn: RDNEncoder) -> RDNEncoder:
    """Set ``rdn``'s weights so that it computes exactly what ``edsr`` computes.

    Parameters
    ----------
    edsr
        An EDSR encoder with ``res_scale == 1``, at most ``2 × len(rdn.RDBs)`` residual blocks
        (an even number) and the same width as ``rdn``.
    rdn
        An RDN encoder whose blocks have at least 6 dense convs and a growth rate equal to its
        width (config B: 16 blocks, 8 convs, G = G0 = 64). Its unused dense convs keep their
        current (random) weights.

    Returns
    -------
    RDNEncoder
        ``rdn``, modified in place.
    """
    width = rdn.out_dim
    edsr_blocks = [b for b in edsr.body if isinstance(b, ResidualBlock)]
    tail = _conv(edsr.body[-1])
    rdbs = [b for b in rdn.RDBs if isinstance(b, ResidualDenseBlock)]
    n_convs = len(rdbs[0].convs)
    growth = _dense_conv(rdbs[0], 0).out_channels
    if edsr.out_dim != width or growth != width:
        raise ValueError(f"widths differ: EDSR {edsr.out_dim}, RDN G0 {width}, G {growth}")
    if n_convs < 6:
        raise ValueError(f"RDN blocks need at least 6 dense convs, these have {n_convs}")
    if len(edsr_blocks) % 2 or len(edsr_blocks) > 2 * len(rdbs):
        raise ValueError(
            f"{len(edsr_blocks)} EDSR blocks do not fit in {len(rdbs)} RDBs (two per RDB)"
        )
    if any(b.res_scale != 1.0 for b in edsr_blocks):
        raise ValueError("only EDSR blocks with res_scale == 1 can be embedded")
    head = _conv(edsr.head[0])
    _set(rdn.SFENet1, head.weight, _bias(head))
    identity = torch.zeros_like(rdn.SFENet2.weight)
    centre = rdn.SFENet2.kernel_size[0] // 2
    identity[:, :, centre, centre] = torch.eye(width)
    _set(rdn.SFENet2, identity, torch.zeros(width))

    n_used = len(edsr_blocks) // 2
    for i, rdb in enumerate(rdbs):
        if i < n_used:
            _embed_block_pair(rdb, edsr_blocks[2 * i], edsr_blocks[2 * i + 1], width)
        else:
            _set(rdb.LFF, torch.zeros_like(rdb.LFF.weight), torch.zeros(width))

    gff_select, gff_conv = _conv(rdn.GFF[0]), _conv(rdn.GFF[1])
    select = torch.zeros_like(gff_select.weight)
    last = len(rdbs) - 1
    select[:, last * width : (last + 1) * width] = torch.eye(width).view(width, width, 1, 1)
    _set(gff_select, select, torch.zeros(width))
    _set(gff_conv, tail.weight, _bias(tail))
    return rdn


def rdn_liif_from_edsr(edsr_model: LIIF, seed: int = 0) -> tuple[LIIF, dict[str, Any]]:
    """A LIIF-RDN (config B) that computes exactly what an EDSR-baseline LIIF computes.

    Parameters
    ----------
    edsr_model
        A LIIF model with an EDSR-baseline encoder (64 features, 16 blocks).
    seed
        Seed of the random initialisation of the dense convs the embedding leaves unused.

    Returns
    -------
    (LIIF, dict)
        The model (train/eval mode as built, float32, CPU) and its official-format args.
    """
    if not isinstance(edsr_model.encoder, EDSREncoder):
        raise TypeError("the source model must have an EDSR encoder")
    args = copy.deepcopy(RDN_LIIF_ARGS)
    hidden = [m.out_features for m in edsr_model.imnet.linear_layers()[:-1]]
    args["imnet_spec"]["args"]["hidden_list"] = hidden
    for flag in ("local_ensemble", "feat_unfold", "cell_decode"):
        if not getattr(edsr_model, flag):
            args[flag] = False
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = build_liif(args)
    assert isinstance(model.encoder, RDNEncoder)
    embed_edsr_in_rdn(edsr_model.encoder.cpu(), model.encoder)
    model.imnet.load_state_dict(edsr_model.imnet.state_dict())
    return model, args


def _same(a: torch.Tensor, b: torch.Tensor) -> bool:
    return a.shape == b.shape and bool(torch.equal(a, b))


@torch.no_grad()
def edsr_from_embedded_rdn(model: LIIF) -> LIIF:
    """The EDSR-baseline LIIF that an exactly embedded LIIF-RDN computes (the inverse map).

    Used to evaluate such a checkpoint cheaply: the RDN spends most of its work on dense convs
    and blocks whose outputs are multiplied by exact zeros. Every weight the embedding fixes
    (zeros, identities, the ``±`` copies) is checked to hold exactly.

    Raises
    ------
    ValueError
        If ``model`` is not an exact embedding (for example after fine-tuning moved it).
    """
    rdn = model.encoder
    if not isinstance(rdn, RDNEncoder):
        raise ValueError("not an RDN model")
    width = rdn.out_dim
    rdbs = [b for b in rdn.RDBs if isinstance(b, ResidualDenseBlock)]
    gff_select, gff_conv = _conv(rdn.GFF[0]), _conv(rdn.GFF[1])
    eye = torch.eye(width).view(width, width, 1, 1)
    last = len(rdbs) - 1
    n_used = next(
        (i for i, b in enumerate(rdbs) if not bool(b.LFF.weight.any() or _bias(b.LFF).any())),
        len(rdbs),
    )
    edsr = EDSREncoder(n_resblocks=2 * n_used, n_feats=width)
    head = _conv(edsr.head[0])
    _set(head, rdn.SFENet1.weight, _bias(rdn.SFENet1))
    tail = _conv(edsr.body[-1])
    _set(tail, gff_conv.weight, _bias(gff_conv))
    problems = []
    identity = torch.zeros_like(rdn.SFENet2.weight)
    identity[:, :, 1, 1] = torch.eye(width)
    if not (_same(rdn.SFENet2.weight, identity) and not _bias(rdn.SFENet2).any()):
        problems.append("SFENet2 is not the identity")
    select = torch.zeros_like(gff_select.weight)
    select[:, last * width : (last + 1) * width] = eye
    if not (_same(gff_select.weight, select) and not _bias(gff_select).any()):
        problems.append("GFF.0 does not select the last block")
    if any(b.LFF.weight.any() or _bias(b.LFF).any() for b in rdbs[n_used:]):
        problems.append("a block after the embedded ones is not an identity")
    blocks = [b for b in edsr.body if isinstance(b, ResidualBlock)]

    def group(c: int) -> slice:
        return slice(c * width, (c + 1) * width)

    for i, rdb in enumerate(rdbs[:n_used]):
        convs = [_dense_conv(rdb, k) for k in range(6)]
        a1, b1, a2, b2 = (convs[k].weight for k in (0, 1, 3, 4))
        a1 = a1[:, group(0)]
        b1 = b1[:, group(1)]
        b2 = b2[:, group(4)]
        a2 = a2[:, group(0)]
        expected = {
            0: ({0: a1}, _bias(convs[0])),
            1: ({1: b1}, _bias(convs[1])),
            2: ({1: -b1}, -_bias(convs[1])),
            3: ({0: a2, 2: a2, 3: -a2}, _bias(convs[3])),
            4: ({4: b2}, _bias(convs[4])),
            5: ({4: -b2}, -_bias(convs[4])),
        }
        for k, (parts, bias) in expected.items():
            weight = torch.zeros_like(convs[k].weight)
            for c, w in parts.items():
                weight[:, group(c)] = w
            if not (_same(convs[k].weight, weight) and _same(_bias(convs[k]), bias)):
                problems.append(f"RDB {i} dense conv {k} differs from the embedding")
        lff = torch.zeros_like(rdb.LFF.weight)
        for c, sign in ((2, 1.0), (3, -1.0), (5, 1.0), (6, -1.0)):
            lff[:, group(c)] = sign * eye
        if not (_same(rdb.LFF.weight, lff) and not _bias(rdb.LFF).any()):
            problems.append(f"RDB {i} LFF differs from the embedding")
        for block, (wa, ba, wb, bb) in (
            (blocks[2 * i], (a1, _bias(convs[0]), b1, _bias(convs[1]))),
            (blocks[2 * i + 1], (a2, _bias(convs[3]), b2, _bias(convs[4]))),
        ):
            _set(_conv(block.body[0]), wa, ba)
            _set(_conv(block.body[2]), wb, bb)
    if problems:
        raise ValueError("not an exact EDSR embedding: " + "; ".join(problems[:4]))
    out = LIIF(
        edsr,
        hidden_list=[m.out_features for m in model.imnet.linear_layers()[:-1]],
        out_dim=model.imnet.out_dim,
        local_ensemble=model.local_ensemble,
        feat_unfold=model.feat_unfold,
        cell_decode=model.cell_decode,
    )
    out.imnet.load_state_dict(model.imnet.state_dict())
    return out.eval()


def train_spare_capacity_only(model: LIIF, n_used: int = 8) -> list[nn.Parameter]:
    """Freeze what the embedding uses; leave trainable only the RDN's spare capacity.

    After :func:`rdn_liif_from_edsr` the model computes EDSR-baseline-LIIF exactly. Fine-tuning
    every weight with a small CPU batch first wrecks that solution (Adam moves every weight by
    about the learning rate, including the paired ``±B`` convs that must stay opposite), so this
    trains only what the embedding leaves unused, starting from an output identical to the
    EDSR-baseline model:

    * every parameter of the identity RDBs (``RDBs[n_used:]``);
    * dense convs 6 and 7 of the used RDBs, with the columns of their local fusion (``LFF``)
      that read them (the other ``LFF`` columns get a zero gradient, so Adam leaves them as they
      are);
    * the global fusion ``GFF.0`` (it can learn to mix the outputs of every block).

    The MLP, the shallow convs and the embedded convs stay frozen.

    Parameters
    ----------
    model
        A LIIF-RDN built by :func:`rdn_liif_from_edsr` (or resumed from one).
    n_used
        RDBs that hold embedded EDSR blocks (8 for EDSR-baseline's 16 blocks).

    Returns
    -------
    list of Parameter
        The trainable parameters (to give to the optimiser).
    """
    rdn = model.encoder
    if not isinstance(rdn, RDNEncoder):
        raise TypeError("the model must have an RDN encoder")
    for p in model.parameters():
        p.requires_grad_(False)
    trainable: list[nn.Parameter] = []

    def train(module: nn.Module) -> None:
        for p in module.parameters():
            p.requires_grad_(True)
            trainable.append(p)

    rdbs = [b for b in rdn.RDBs if isinstance(b, ResidualDenseBlock)]
    width = rdn.out_dim
    for i, rdb in enumerate(rdbs):
        if i >= n_used:
            train(rdb)
            continue
        n_convs = len(rdb.convs)
        for index in range(6, n_convs):
            train(_dense_conv(rdb, index))
        lff = rdb.LFF.get_parameter("weight")
        mask = torch.zeros_like(lff)
        mask[:, 7 * width :] = 1.0  # the groups of dense outputs 7.. (convs 6..)
        lff.requires_grad_(True)
        lff.register_hook(lambda grad, m=mask: grad * m)
        trainable.append(lff)
    train(rdn.GFF[0])
    return trainable
