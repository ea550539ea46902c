"""The ``ovbench`` command line."""

from __future__ import annotations

from pathlib import Path

import click

from ovbench.errors import OvbenchError

DEFAULT_SPLITS = {"vspw": "vspw-80-44", "cityscapes": "cityscapes-12-7", "camvid": "camvid-7-4"}
DATASET_NAMES = tuple(DEFAULT_SPLITS)


class UserError(click.ClickException):
    exit_code = 2

    def show(self, file=None) -> None:
        click.echo(f"error: {self.message}", err=True)


class Interrupted(UserError):
    exit_code = 130


class _Group(click.Group):
    """Turns an :class:`OvbenchError` raised anywhere below into one line on stderr, exit code 2."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except OvbenchError as exc:
            raise UserError(str(exc)) from None
        except KeyboardInterrupt:
            raise Interrupted("interrupted; no result was written and existing files are unchanged") from None


@click.group(cls=_Group)
@click.version_option(package_name="ovbench")
def cli() -> None:
    """Benchmark open-vocabulary video semantic segmentation."""


def _data_options(f):
    f = click.option("--max-frames", type=int, default=None, help="Score at most N frames per video (a prefix).")(f)
    f = click.option("--max-videos", type=int, default=None, help="Score only the first N videos.")(f)
    f = click.option("--protocol", type=click.Choice(["gzsl", "zsl"]), default="gzsl", show_default=True)(f)
    f = click.option("--split", "split_name", default=None, help="Split name or .yaml path [default: the dataset's].")(f)
    f = click.option("--subset", default="val", show_default=True, help="train, val or test.")(f)
    f = click.option("--data-root", type=click.Path(path_type=Path), default=None,
                     help="Dataset folder (or its parent); default $OVBENCH_DATA.")(f)  # fmt: skip
    f = click.option("--dataset", type=click.Choice(DATASET_NAMES), required=True)(f)
    return f


def _setup(dataset_name, data_root, subset, split_name, protocol_name):
    from ovbench.datasets import open_dataset
    from ovbench.protocols import get_protocol
    from ovbench.splits import load_split

    split = load_split(split_name or DEFAULT_SPLITS[dataset_name])
    if split.dataset != dataset_name:
        raise OvbenchError(f"split {split.name!r} is for dataset {split.dataset!r}, not {dataset_name!r}")
    return open_dataset(dataset_name, data_root, subset), split, get_protocol(protocol_name)


def _check_out(out: Path, overwrite: bool) -> None:
    if out.exists() and not overwrite:
        raise OvbenchError(f"{out} exists; pass --overwrite to replace it or choose another --out")


def _report(result: dict, out: Path) -> None:
    m = result["metrics"]
    shown = ", ".join(
        f"{k} {m[k]:.2f}" for k in ("miou", "miou_seen", "miou_unseen", "hiou", "mvc8", "mvc16") if m.get(k) is not None
    )
    click.echo(f"{result['model']['name']} on {result['dataset']['name']} {result['dataset']['subset']} "
               f"({result['protocol']}): {shown}")  # fmt: skip
    click.echo(f"wrote {out}")


@cli.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.option("--model", "model_name", required=True, help="A registered model (see `ovbench list models`).")
@_data_options
@click.option("--out", type=click.Path(path_type=Path), required=True, help="Result JSON to write.")
@click.option("--overwrite", is_flag=True, help="Replace --out if it exists.")
@click.option("--device", default="cpu", show_default=True, help="cpu, cuda or cuda:N.")
@click.option("--save-predictions", type=click.Path(path_type=Path), default=None,
              help="Also write PRED/<video>/<frame>.png (class ids) for `ovbench evaluate`.")  # fmt: skip
@click.option("--no-progress", is_flag=True, help="Hide the progress bar.")
@click.pass_context
def run(ctx, model_name, dataset, data_root, subset, split_name, protocol, max_videos, max_frames, out,
        overwrite, device, save_predictions, no_progress):  # fmt: skip
    """Run a model on a dataset and write its result file.

    Options after the listed ones are the model's own (see `ovbench list models`).
    """
    from ovbench.models import parse_option_args
    from ovbench.registry import get_model_class
    from ovbench.results import write_result
    from ovbench.runner import run_model

    _check_out(out, overwrite)
    model_cls = get_model_class(model_name)
    options = parse_option_args(model_cls.options, ctx.args)
    _check_device(device)
    ds, split, proto = _setup(dataset, data_root, subset, split_name, protocol)
    model = model_cls(device=device, dataset=dataset, **options)
    result = run_model(
        model, model_name, ds, split, proto, max_videos=max_videos, max_frames=max_frames,
        save_predictions=save_predictions, show_progress=not no_progress,
    )  # fmt: skip
    _report(result, write_result(out, result))


def _check_device(device: str) -> None:
    if device == "cpu":
        return
    if not device.startswith("cuda"):
        raise OvbenchError(f"--device {device!r}: use cpu, cuda or cuda:N")
    import torch

    if not torch.cuda.is_available():
        raise OvbenchError(f"--device {device}: no CUDA device is available here; use --device cpu")


@cli.command()
@_data_options
@click.option("--predictions", type=click.Path(path_type=Path), required=True,
              help="Folder of PRED/<video>/<frame stem>.png holding class ids (255 = no prediction).")  # fmt: skip
@click.option("--out", type=click.Path(path_type=Path), required=True, help="Result JSON to write.")
@click.option("--overwrite", is_flag=True, help="Replace --out if it exists.")
@click.option("--model-name", default=None, help="Name recorded in the result [default: the folder's name].")
@click.option("--workers", type=click.IntRange(1, 64), default=2, show_default=True, help="PNG decoding threads.")
@click.option("--no-progress", is_flag=True, help="Hide the progress bar.")
def evaluate(dataset, data_root, subset, split_name, protocol, max_videos, max_frames, predictions, out,
             overwrite, model_name, workers, no_progress):  # fmt: skip
    """Score saved predictions (from any codebase) and write a result file."""
    from ovbench.results import write_result
    from ovbench.runner import evaluate_predictions

    _check_out(out, overwrite)
    ds, split, proto = _setup(dataset, data_root, subset, split_name, protocol)
    result = evaluate_predictions(
        predictions, ds, split, proto, model_name=model_name, max_videos=max_videos, max_frames=max_frames,
        show_progress=not no_progress, workers=workers,
    )  # fmt: skip
    _report(result, write_result(out, result))


@cli.command()
@click.option("--dataset", type=click.Choice(DATASET_NAMES), required=True)
@click.option("--data-root", type=click.Path(path_type=Path), default=None, help="Default $OVBENCH_DATA.")
@click.option("--subset", "subsets", multiple=True, help="Subsets to check [default: every one present].")
def check(dataset, data_root, subsets):
    """Walk a dataset and report every problem found (missing, unreadable, mismatched, bad labels)."""
    from ovbench.check import check_dataset

    problems = check_dataset(dataset, data_root, subsets or None, echo=click.echo)
    if problems:
        raise UserError(f"{problems} problem(s) found in {dataset}")
    click.echo("no problems found")


@cli.group(cls=_Group)
def prepare() -> None:
    """One-time conversions of dataset files."""


@prepare.command("cityscapes")
@click.option("--data-root", type=click.Path(path_type=Path), default=None, help="Default $OVBENCH_DATA.")
def prepare_cityscapes(data_root):
    """Write *_gtFine_labelTrainIds.png from *_gtFine_labelIds.png (needs cityscapesscripts)."""
    from ovbench.datasets import resolve_root
    from ovbench.datasets.cityscapes import prepare as convert

    converted, present = convert(resolve_root("cityscapes", data_root))
    click.echo(f"converted {converted} label files ({present} already present)")


@cli.group(name="list", cls=_Group)
def list_() -> None:
    """List models, datasets or splits."""


@list_.command("models")
def list_models():
    """Registered models and their options; a plugin that fails to load is shown, not fatal."""
    from ovbench.registry import available_models

    specs = available_models()
    if not specs:
        click.echo("no models installed (pip install a model package, see README)")
    for name, spec in specs.items():
        try:
            model_cls = spec.load()
        except OvbenchError as exc:
            click.echo(f"{name}  [broken] {exc}")
            continue
        click.echo(f"{name}  ({spec.origin}) {(model_cls.__doc__ or '').strip().splitlines()[0] if model_cls.__doc__ else ''}")
        for option in model_cls.options:
            note = "" if option.affects_score else " (speed only)"
            if option.dataset_defaults:
                note += " (" + ", ".join(f"{d}: {v!r}" for d, v in option.dataset_defaults.items()) + ")"
            choices = f" [{'|'.join(map(str, option.choices))}]" if option.choices else ""
            click.echo(f"    {option.flag}{choices}  default {option.default!r}{note}  {option.help}")


@list_.command("datasets")
def list_datasets():
    from ovbench.datasets import DATASETS

    for name, cls in DATASETS.items():
        click.echo(f"{name}  {cls.num_classes} classes, default split {DEFAULT_SPLITS[name]}")


@list_.command("splits")
def list_splits():
    from ovbench.splits import available_splits, load_split

    for name in available_splits():
        s = load_split(name)
        click.echo(f"{name}  {s.dataset}: {len(s.seen_ids)} seen / {len(s.unseen_ids)} unseen, hash {s.hash}")


@cli.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["markdown", "csv", "latex"]), default="markdown", show_default=True)
@click.option("--out", type=click.Path(path_type=Path), default=None, help="Write here instead of stdout.")
def compare(files, fmt, out):
    """Leaderboards from result files, one per dataset, subset, split and protocol."""
    from ovbench.reports import leaderboards

    text = leaderboards(files, fmt)
    if out is None:
        click.echo(text, nl=False)
    else:
        from ovbench.reports import write_text

        write_text(out, text)
        click.echo(f"wrote {out}")


def main() -> None:
    cli(prog_name="ovbench")
