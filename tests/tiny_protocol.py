"""A protocol plugin in one file: every class asked for (as gzsl), ranked by frequency-weighted IoU."""

from __future__ import annotations

from ovbench.api import Protocol

FREQUENCY = Protocol(
    "gzsl-fw", "fwiou", unseen_only=False, columns=("fwiou", "miou", "pixel_acc"),
    description="every class asked for and scored, ranked by FWIoU",
)
MISNAMED = Protocol("something-else", "miou", unseen_only=False)
