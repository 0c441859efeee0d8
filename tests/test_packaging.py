"""Fast checks of the installers' sources: they agree with appinfo and are well formed.

The builds themselves (PyInstaller, .deb, smoke test) are `make package-linux` and
`make smoke-deb`; they take minutes and are not part of the test run.
"""

from __future__ import annotations

import ast
import configparser
import re
import shutil
import subprocess
import sys
import textwrap
import uuid
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from liif_desktop import appinfo

REPO = Path(__file__).resolve().parent.parent
PACKAGING = REPO / "packaging"
SPEC = PACKAGING / "liif-desktop.spec"
LINUX = PACKAGING / "linux"
SHELL_SCRIPTS = [
    PACKAGING / "build_linux.sh",
    PACKAGING / "smoke_deb.sh",
    LINUX / "build_appimage.sh",
    PACKAGING / "macos" / "build_dmg.sh",
]


def _spec_constant(name: str) -> object:
    """The value of a top-level literal assignment in the spec (evaluated without PyInstaller)."""
    tree = ast.parse(SPEC.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name) and target.id == name:
                    return eval(compile(ast.Expression(node.value), str(SPEC), "eval"))
    raise AssertionError(f"{name} not assigned in {SPEC}")


# ----------------------------------------------------------------------------- appinfo


def test_appinfo_version_is_the_package_version() -> None:
    import liif_desktop

    assert appinfo.VERSION == liif_desktop.__version__
    assert re.fullmatch(r"\d+\.\d+\.\d+", appinfo.VERSION)


def test_appinfo_mime_types_cover_the_image_types() -> None:
    assert set(appinfo.MIME_TYPES) == set(appinfo.IMAGE_TYPES.values())
    assert len(appinfo.MIME_TYPES) == len(set(appinfo.MIME_TYPES))
    assert {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".webp", ".bmp"} == set(appinfo.IMAGE_TYPES)


def test_installer_guid_derives_from_the_bundle_id() -> None:
    assert appinfo.INSTALLER_GUID == str(uuid.uuid5(uuid.NAMESPACE_DNS, appinfo.BUNDLE_ID)).upper()


def test_shell_assignments_round_trip_through_bash() -> None:
    bash = shutil.which("bash")
    if bash is None:
        pytest.skip("bash not available")
    script = appinfo.shell_assignments() + 'printf "%s\\n" "$APP_DESCRIPTION" "$APP_MIME_TYPES"'
    out = subprocess.run([bash, "-c", script], capture_output=True, text=True, check=True).stdout
    assert out.splitlines() == [appinfo.DESCRIPTION, ";".join(appinfo.MIME_TYPES)]


# ----------------------------------------------------------------------------- PyInstaller spec


def test_spec_is_valid_python_and_names_both_entry_points() -> None:
    source = SPEC.read_text(encoding="utf-8")
    ast.parse(source)
    assert "entry_gui.py" in source and "entry_cli.py" in source
    assert "COLLECT(" in source and "BUNDLE(" in source
    # Onedir: both executables leave their libraries to the shared COLLECT folder.
    assert source.count("exclude_binaries=True") == 2


@pytest.mark.parametrize(("entry", "module"), [("entry_gui.py", "app"), ("entry_cli.py", "cli")])
def test_entry_scripts_call_the_real_main(entry: str, module: str) -> None:
    tree = ast.parse((PACKAGING / entry).read_text(encoding="utf-8"))
    imported = [
        (node.module, [alias.name for alias in node.names])
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
    ]
    assert (f"liif_desktop.{module}", ["main"]) in imported
    target = REPO / "liif_desktop" / f"{module}.py"
    if not target.is_file():
        pytest.skip(f"{target} not written yet")
    body = ast.parse(target.read_text(encoding="utf-8")).body
    assert any(isinstance(node, ast.FunctionDef) and node.name == "main" for node in body)


def test_spec_excludes_nothing_the_app_or_cli_imports() -> None:
    # Block every excluded module, then import every liif_desktop module and run a model:
    # an exclusion that the frozen app would need fails here instead of in the installer.
    excludes = _spec_constant("EXCLUDES")
    assert isinstance(excludes, list) and "torch._inductor" in excludes
    code = textwrap.dedent(
        f"""
        import importlib, importlib.abc, pkgutil, sys
        EXCLUDES = {excludes!r}

        class Block(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path, target=None):
                if any(name == ex or name.startswith(ex + ".") for ex in EXCLUDES):
                    raise ImportError("excluded from the bundle: " + name)
                return None

        sys.meta_path.insert(0, Block())
        import numpy as np, torch
        import liif_desktop
        for info in pkgutil.walk_packages(liif_desktop.__path__, "liif_desktop."):
            importlib.import_module(info.name)
        from liif_desktop.model import build_liif
        from liif_desktop.render.full import upscale_array
        from liif_desktop.render.region import RegionRenderer
        torch.manual_seed(0)
        model = build_liif({{
            "encoder_spec": {{"name": "edsr-baseline",
                             "args": {{"no_upsampling": True, "n_resblocks": 1, "n_feats": 8}}}},
            "imnet_spec": {{"name": "mlp", "args": {{"out_dim": 3, "hidden_list": [16]}}}},
        }}).eval()
        image = np.random.default_rng(0).random((12, 12, 3)).astype(np.float32)
        assert upscale_array(RegionRenderer(model, image), (30, 30)).shape == (30, 30, 3)
        """
    )
    env = {"QT_QPA_PLATFORM": "offscreen", "PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]


def test_spec_plist_types_cover_the_image_types() -> None:
    utis = _spec_constant("UTIS")
    assert isinstance(utis, dict)
    assert set(utis) == set(appinfo.MIME_TYPES)


def test_bundled_files_exist() -> None:
    source = SPEC.read_text(encoding="utf-8")
    assert '"resources"' in source and "_weights()" in source
    assert (REPO / "weights" / "manifest.json").is_file()
    assert (LINUX / "copyright").is_file()
    assert (REPO / "resources" / "icons" / "liif-desktop.ico").is_file()
    assert (REPO / "resources" / "icons" / "liif-desktop.icns").is_file()


# ----------------------------------------------------------------------------- Linux


def _desktop_entry() -> configparser.SectionProxy:
    parser = configparser.ConfigParser(interpolation=None, delimiters=("=",))
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(LINUX / "liif-desktop.desktop", encoding="utf-8")
    return parser["Desktop Entry"]


def test_desktop_entry_matches_appinfo() -> None:
    entry = _desktop_entry()
    assert entry["Type"] == "Application"
    assert entry["Name"] == appinfo.APP_NAME
    assert entry["Exec"].split()[0] == appinfo.GUI_EXECUTABLE
    assert entry["Exec"].split()[1] in ("%f", "%F", "%u", "%U")
    assert entry["TryExec"] == appinfo.GUI_EXECUTABLE
    assert entry["Icon"] == appinfo.PACKAGE_NAME
    assert entry["Terminal"] == "false"
    assert entry["MimeType"] == ";".join(appinfo.MIME_TYPES) + ";"
    categories = entry["Categories"]
    assert categories.endswith(";") and "Graphics;" in categories
    for key in ("Categories", "MimeType", "Keywords"):
        assert entry[key].endswith(";"), key


def test_desktop_entry_passes_desktop_file_validate() -> None:
    tool = shutil.which("desktop-file-validate")
    if tool is None:
        pytest.skip("desktop-file-validate not installed (apt-get install desktop-file-utils)")
    result = subprocess.run([tool, str(LINUX / "liif-desktop.desktop")], capture_output=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_metainfo_matches_appinfo() -> None:
    path = LINUX / f"{appinfo.BUNDLE_ID}.metainfo.xml"
    root = ET.parse(path).getroot()
    assert root.findtext("id") == appinfo.BUNDLE_ID
    assert root.findtext("name") == appinfo.APP_NAME
    assert root.findtext("summary") == appinfo.SUMMARY
    assert root.findtext("project_license") == appinfo.LICENSE
    assert root.findtext("launchable") == f"{appinfo.PACKAGE_NAME}.desktop"
    media = [el.text for el in root.iter("mediatype")]
    assert media == list(appinfo.MIME_TYPES)
    binaries = {el.text for el in root.iter("binary")}
    assert binaries == {appinfo.GUI_EXECUTABLE, appinfo.CLI_EXECUTABLE}
    versions = [el.get("version") for el in root.iter("release")]
    assert versions[0] == appinfo.VERSION


def test_metainfo_passes_appstreamcli() -> None:
    tool = shutil.which("appstreamcli")
    if tool is None:
        pytest.skip("appstreamcli not installed")
    path = LINUX / f"{appinfo.BUNDLE_ID}.metainfo.xml"
    result = subprocess.run([tool, "validate", "--no-net", str(path)], capture_output=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_copyright_is_dep5_with_every_licence_defined() -> None:
    text = (LINUX / "copyright").read_text(encoding="utf-8")
    assert text.startswith(
        "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n"
    )
    paragraphs = [p for p in text.split("\n\n") if p.strip()]
    used: set[str] = set()
    defined: set[str] = set()
    for paragraph in paragraphs:
        lines = paragraph.splitlines()
        fields = {line.split(":", 1)[0] for line in lines if not line.startswith(" ")}
        licence = next((line for line in lines if line.startswith("License:")), None)
        if licence is None:
            continue
        name = licence.split(":", 1)[1].strip()
        has_text = lines.index(licence) + 1 < len(lines) and lines[
            lines.index(licence) + 1
        ].startswith(" ")
        if "Files" in fields:
            used.add(name)
            if has_text:
                defined.add(name)
        else:
            assert has_text, f"stand-alone License paragraph {name} has no text"
            defined.add(name)
    assert used <= defined, f"licences without text: {used - defined}"
    assert "BSD-3-Clause" in used


def test_lintian_overrides_are_each_explained() -> None:
    lines = (LINUX / "lintian-overrides").read_text(encoding="utf-8").splitlines()
    overrides = [i for i, line in enumerate(lines) if line and not line.startswith("#")]
    assert overrides
    for i in overrides:
        assert lines[i].startswith(f"{appinfo.PACKAGE_NAME}: "), lines[i]
        j = i - 1
        while j >= 0 and lines[j] and not lines[j].startswith("#"):
            j -= 1  # overrides grouped under one comment
        assert j >= 0 and lines[j].startswith("#"), f"override without a reason: {lines[i]}"


@pytest.mark.parametrize("page", [appinfo.GUI_EXECUTABLE, appinfo.CLI_EXECUTABLE])
def test_man_pages_exist(page: str) -> None:
    text = (LINUX / f"{page}.1").read_text(encoding="utf-8")
    assert text.startswith(f'.TH {page.upper()} 1 "')
    assert ".SH NAME" in text and ".SH SYNOPSIS" in text


@pytest.mark.parametrize("script", SHELL_SCRIPTS, ids=lambda p: p.name)
def test_shell_scripts_parse(script: Path) -> None:
    bash = shutil.which("bash")
    if bash is None:
        pytest.skip("bash not available")
    assert script.stat().st_mode & 0o111, f"{script} is not executable"
    subprocess.run([bash, "-n", str(script)], check=True)
    shellcheck = shutil.which("shellcheck")
    if shellcheck is not None:
        result = subprocess.run([shellcheck, "-S", "error", str(script)], capture_output=True)
        assert result.returncode == 0, result.stdout


def test_makefile_packaging_targets() -> None:
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    assert re.search(r"^package-linux:.*\n\t.*\n\t.*packaging/build_linux\.sh", makefile, re.M)
    assert re.search(r"^smoke-deb:.*\n\t.*packaging/smoke_deb\.sh", makefile, re.M)


# ----------------------------------------------------------------------------- Windows


def test_inno_setup_script_matches_appinfo() -> None:
    iss = (PACKAGING / "windows" / "liif-desktop.iss").read_text(encoding="utf-8")
    assert f"AppId={{{{{appinfo.INSTALLER_GUID}}}" in iss
    assert f'#define AppName "{appinfo.APP_NAME}"' in iss
    assert f'#define AppVersion "{appinfo.VERSION}"' in iss
    assert f'#define AppExeName "{appinfo.GUI_EXECUTABLE}.exe"' in iss
    assert f'#define CliExeName "{appinfo.CLI_EXECUTABLE}.exe"' in iss
    for ext in appinfo.IMAGE_TYPES:
        assert f'Subkey: "Software\\Classes\\{ext}\\OpenWithProgids"' in iss, ext
        assert f'SupportedTypes"; ValueType: string; ValueName: "{ext}"' in iss, ext
    assert "{autoprograms}" in iss  # Start menu entry
    assert "ChangesAssociations=yes" in iss
    assert "..\\..\\resources\\icons\\liif-desktop.ico" in iss


# ----------------------------------------------------------------------------- CI


def test_installers_workflow_has_one_job_per_os() -> None:
    text = (REPO / ".github" / "workflows" / "installers.yml").read_text(encoding="utf-8")
    runners = dict(re.findall(r"^  (\w+):\n(?:    #.*\n)*    runs-on: (\S+)", text, re.M))
    assert set(runners) == {"linux", "windows", "macos"}
    assert runners["linux"].startswith("ubuntu")
    assert runners["windows"].startswith("windows")
    assert runners["macos"].startswith("macos")
    assert 'PYTHON_VERSION: "3.11"' in text
    assert "https://download.pytorch.org/whl/cpu" in text
    assert text.count("liif_desktop.weights fetch") == 3
    assert "build_appimage.sh" in text
    assert "liif-desktop.iss" in text and "build_dmg.sh" in text
    assert "\t" not in text
