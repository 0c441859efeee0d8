"""Help ▸ About: name, version, what it is built on, links."""

from __future__ import annotations

from liif_desktop import appinfo
from liif_desktop.ui.how_it_works import LIIF_CODE, LIIF_PAPER

PROJECT_URL = f"https://{appinfo.ORGANIZATION_DOMAIN}"


def about_html(torch_version: str, qt_version: str) -> str:
    """The About box's rich text."""
    return (
        f"<h3>{appinfo.APP_NAME} {appinfo.VERSION}</h3>"
        f"<p>{appinfo.SUMMARY}. {appinfo.DESCRIPTION}</p>"
        "<p>Built on LIIF — Local Implicit Image Function (Chen, Liu and Wang, CVPR 2021): "
        f'<a href="{LIIF_PAPER}">paper (arXiv 2012.09161)</a> · '
        f'<a href="{LIIF_CODE}">authors\' code</a>.</p>'
        f'<p><a href="{PROJECT_URL}">Project page</a> · licence {appinfo.LICENSE} · '
        f"PyTorch {torch_version} · Qt {qt_version}</p>"
        "<p>Help ▸ Copy system info puts what a bug report needs on the clipboard.</p>"
    )
