"""The ``ovbench`` command line."""

from __future__ import annotations

from pathlib import Path

import click

from ovbench.errors import OvbenchError



class RegistryChoice(click.ParamType):
    """A name from one of :mod:`ovbench.registry`'s registries, looked up when the option is parsed.

    Unlike ``click.Choice`` the names are not frozen at import, so a dataset a plugin registers is a
    valid ``--dataset`` without the CLI knowing it.
    """

    def __init__(self, registry_name: str):
        self.registry_name = registry_name
        self.name = registry_name.lower()

    @property
    def registry(self):
        from ovbench import registry

        return getattr(registry, self.registry_name)

    def convert(self, value, param, ctx):
        names = self.registry.names()
        if value in names:
            return value
        self.fail(f"{value!r} is unknown; known {self.registry.kind}s: {', '.join(names)}", param, ctx)

    def get_metavar(self, param, ctx=None):
        return "[" + "|".join(self.registry.names()) + "]"

    def shell_complete(self, ctx, param, incomplete):
        from click.shell_completion import CompletionItem

        return [CompletionItem(n) for n in self.registry.names() if n.startswith(incomplete)]


DATASET = RegistryChoice("DATASETS")
PROTOCOL = RegistryChoice("PROTOCOLS")
REPORT_FORMAT = RegistryChoice("REPORT_FORMATS")


def default_split(dataset_name: str) -> str:
    """The split ``--split`` defaults to for a dataset, as the dataset class declares it."""
    from ovbench.datasets import dataset_class

    split = dataset_class(dataset_name).default_split
    if not split:
        raise OvbenchError(f"--dataset {dataset_name!r} declares no default split; pass --split NAME or a .yaml path")
    return split


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
    f = click.option("--protocol", type=PROTOCOL, default="gzsl", show_default=True,
                     help="Which classes are asked for and scored (ovbench list protocols).")(f)  # fmt: skip
    f = click.option("--split", "split_name", default=None, help="Split name or .yaml path [default: the dataset's].")(f)
    f = click.option("--subset", default="val", show_default=True, help="train, val or test.")(f)
    f = click.option("--data-root", type=click.Path(path_type=Path), default=None,
                     help="Dataset folder (or its parent); default $OVBENCH_DATA.")(f)  # fmt: skip
    f = click.option("--dataset", type=DATASET, required=True)(f)
    return f


def _setup(dataset_name, data_root, subset, split_name, protocol_name):
    from ovbench.datasets import open_dataset
    from ovbench.protocols import get_protocol
    from ovbench.splits import load_split

    split = load_split(split_name or default_split(dataset_name))
    if split.dataset != dataset_name:
        raise OvbenchError(f"split {split.name!r} is for dataset {split.dataset!r}, not {dataset_name!r}")
    return open_dataset(dataset_name, data_root, subset), split, get_protocol(protocol_name)


def _data_inputs(dataset, split_name) -> list[tuple[Path | None, str]]:
    """The dataset folder and the split file a command reads, for :func:`ovbench.atomic.inputs_protected`."""
    return [(dataset.root, "dataset folder"), (Path(split_name) if split_name else None, "split file")]


def _on_existing_options(*choices: str):
    """``--on-existing CHOICE`` and its older spellings ``--resume``/``--overwrite`` (flags, kept as aliases)."""
    helps = {
        "refuse": "stop with a message",
        "resume": "continue OUT.partial/ (videos saved there are skipped)",
        "overwrite": "replace --out and discard OUT.partial/" if "resume" in choices else "replace --out",
    }

    def decorate(f):
        if "resume" in choices:
            f = click.option("--resume", is_flag=True, help="Same as --on-existing resume.")(f)
        f = click.option("--overwrite", is_flag=True, help="Same as --on-existing overwrite.")(f)
        f = click.option("--on-existing", type=click.Choice(choices), default=None,
                         help="When --out or its partial results exist: " + "; ".join(f"{c}: {helps[c]}" for c in choices)
                         + " [default: refuse].")(f)  # fmt: skip
        return f

    return decorate


def _existing_policy(on_existing: str | None, resume: bool = False, overwrite: bool = False) -> tuple[bool, bool]:
    """(resume, overwrite) from ``--on-existing`` or the alias flags (both flags together: resume, then replace)."""
    if on_existing is None:
        return resume, overwrite
    if resume or overwrite:
        flags = " ".join(f for f, on in (("--resume", resume), ("--overwrite", overwrite)) if on)
        raise OvbenchError(f"--on-existing {on_existing} and {flags} both say what to do with existing files; pass one")
    return on_existing == "resume", on_existing == "overwrite"


def _check_out(out: Path, overwrite: bool) -> None:
    if out.exists() and not overwrite:
        raise OvbenchError(f"{out} exists; pass --on-existing overwrite to replace it or choose another --out")


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
@_on_existing_options("refuse", "resume", "overwrite")
@click.option("--keep-partials", is_flag=True, help="Keep OUT.partial/ (a result file per video) after writing --out.")
@click.option("--device", default="cpu", show_default=True, help="cpu, cuda or cuda:N (under torchrun: cpu or cuda).")
@click.option("--workers", type=click.IntRange(0, 64), default=None,
              help="Processes decoding frames and masks ahead of the model; 0 = inline [default: 2 with "
                   "--device cuda, 0 on CPU].")  # fmt: skip
@click.option("--save-predictions", type=click.Path(path_type=Path), default=None,
              help="Also write PRED/<video>/<frame>.png (class ids) for `ovbench evaluate`.")  # fmt: skip
@click.option("--prediction-cache", type=click.Path(path_type=Path), default=None,
              help="Folder of reusable predictions, keyed by model, options, weights and vocabulary.")  # fmt: skip
@click.option("--no-progress", is_flag=True, help="Hide the progress bar.")
@click.pass_context
def run(ctx, model_name, dataset, data_root, subset, split_name, protocol, max_videos, max_frames, out,
        on_existing, overwrite, resume, keep_partials, device, workers, save_predictions, prediction_cache,
        no_progress):  # fmt: skip
    """Run a model on a dataset and write its result file.

    Options after the listed ones are the model's own (see `ovbench list models`). Start it with
    `torchrun --nproc_per_node N -m ovbench run ...` to share the videos among N processes.
    """
    from ovbench.atomic import refuse_replacing_an_input, inputs_protected
    from ovbench.distributed import process_group
    from ovbench.models import parse_option_args
    from ovbench.registry import get_model_class
    from ovbench.results import write_result
    from ovbench.run.commands import run_model
    from ovbench.run.config import RunConfig
    from ovbench.run.partials import PartialStore, partial_dir

    resume, overwrite = _existing_policy(on_existing, resume, overwrite)
    partials = PartialStore(partial_dir(out), resume=resume, overwrite=overwrite)
    if workers is None:  # on CPU the model's own threads use every core: decoding ahead would only compete
        workers = 2 if device.startswith("cuda") else 0
    with process_group(device) as dist:

        def prepare():
            if dist.is_main:
                _check_out(out, overwrite)
            model_cls = get_model_class(model_name)
            options = parse_option_args(model_cls.options, ctx.args)
            _check_device(dist.device)
            ds, split, proto = _setup(dataset, data_root, subset, split_name, protocol)
            config = RunConfig(max_videos=max_videos, max_frames=max_frames, workers=workers,
                               save_predictions=save_predictions, prediction_cache=prediction_cache,
                               show_progress=not no_progress)  # fmt: skip
            return ds, split, proto, config, model_cls(device=dist.device, dataset=dataset, **options)

        ds, split, proto, config, model = dist.agree(prepare)
        with inputs_protected(_data_inputs(ds, split_name)):
            if dist.is_main:
                refuse_replacing_an_input(out)
            try:
                result = run_model(model, model_name, ds, split, proto, config, dist=dist, partials=partials,
                                   echo=lambda m: click.echo(m, err=True))  # fmt: skip
            except KeyboardInterrupt:
                raise Interrupted(
                    f"interrupted; no result was written and existing files are unchanged; finished videos are "
                    f"kept in {partials.root}: rerun with --on-existing resume to continue"
                ) from None
            except OvbenchError:
                if dist.is_local_main:
                    partials.remove_if_empty()
                raise
            written = dist.agree(lambda: write_result(out, result, overwrite=overwrite) if dist.is_main else None)
        if not keep_partials and dist.is_local_main:
            partials.remove()
        if dist.is_main:
            _report(result, written)


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
@_on_existing_options("refuse", "overwrite")
@click.option("--model-name", default=None, help="Name recorded in the result [default: the folder's name].")
@click.option("--workers", type=click.IntRange(1, 64), default=2, show_default=True, help="PNG decoding threads.")
@click.option("--no-progress", is_flag=True, help="Hide the progress bar.")
def evaluate(dataset, data_root, subset, split_name, protocol, max_videos, max_frames, predictions, out,
             on_existing, overwrite, model_name, workers, no_progress):  # fmt: skip
    """Score saved predictions (from any codebase) and write a result file."""
    from ovbench.atomic import refuse_replacing_an_input, inputs_protected
    from ovbench.results import write_result
    from ovbench.run.commands import evaluate_predictions
    from ovbench.run.config import RunConfig

    _, overwrite = _existing_policy(on_existing, overwrite=overwrite)
    _check_out(out, overwrite)
    ds, split, proto = _setup(dataset, data_root, subset, split_name, protocol)
    with inputs_protected([*_data_inputs(ds, split_name), (predictions, "predictions folder")]):
        refuse_replacing_an_input(out)  # before the scoring, not after it
        config = RunConfig(max_videos=max_videos, max_frames=max_frames, workers=workers, show_progress=not no_progress)
        result = evaluate_predictions(predictions, ds, split, proto, config, model_name=model_name)
        _report(result, write_result(out, result, overwrite=overwrite))


@cli.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.option("--model", "model_name", required=True, help="A trainable registered model (see `ovbench list models`).")
@click.option("--dataset", type=DATASET, required=True)
@click.option("--data-root", type=click.Path(path_type=Path), default=None, help="Default $OVBENCH_DATA.")
@click.option("--subset", default="train", show_default=True)
@click.option("--split", "split_name", default=None, help="Split name or .yaml path [default: the dataset's].")
@click.option("--out", type=click.Path(path_type=Path), required=True, help="Folder for checkpoints.")
@click.option("--steps", type=int, default=1000, show_default=True, help="Optimizer steps.")
@click.option("--batch-size", type=int, default=4, show_default=True, help="Target frames per forward pass.")
@click.option("--accumulate", type=int, default=1, show_default=True, help="Forward passes per optimizer step.")
@click.option("--lr", type=float, default=1e-4, show_default=True, help="Peak AdamW learning rate.")
@click.option("--weight-decay", type=float, default=0.01, show_default=True)
@click.option("--warmup", type=int, default=100, show_default=True, help="Linear warm-up steps (then poly 0.9).")
@click.option("--crop-scale", type=float, default=0.5, show_default=True,
              help="Training crops keep the frame's aspect and span this fraction of it up to all (1 = whole frames).")  # fmt: skip
@click.option("--train-seed", type=int, default=0, show_default=True, help="Seed of frame, crop and flip sampling.")
@click.option("--checkpoint-every", type=int, default=500, show_default=True)
@click.option("--resume", is_flag=True, help="Continue the run in --out from its latest checkpoint.")
@click.option("--device", default="cpu", show_default=True, help="cpu, cuda or cuda:N.")
@click.option("--no-progress", is_flag=True, help="Hide the progress bar.")
@click.pass_context
def train(ctx, model_name, dataset, data_root, subset, split_name, out, steps, batch_size, accumulate, lr,
          weight_decay, warmup, crop_scale, train_seed, checkpoint_every, resume, device, no_progress):  # fmt: skip
    """Train a model on the seen classes of a split (unseen pixels ignored, unseen names never shown).

    Options after the listed ones are the model's own. Evaluate a result with
    `ovbench run --model M --checkpoint OUT ...`.
    """
    from ovbench.models import parse_option_args
    from ovbench.registry import get_model_class
    from ovbench.training import TrainableVideoModel, TrainConfig
    from ovbench.training import train as run_training

    model_cls = get_model_class(model_name)
    if not issubclass(model_cls, TrainableVideoModel):
        raise OvbenchError(f"model {model_name!r} cannot be trained: it is not an ovbench.training.TrainableVideoModel")
    options = parse_option_args(model_cls.options, ctx.args)
    _check_device(device)
    config = TrainConfig(
        steps=steps, batch_size=batch_size, accumulate=accumulate, lr=lr, weight_decay=weight_decay, warmup=warmup,
        crop_scale=crop_scale, seed=train_seed, checkpoint_every=checkpoint_every,
    )  # fmt: skip
    config.check()
    ds, split, _ = _setup(dataset, data_root, subset, split_name, "gzsl")
    model = model_cls(device=device, dataset=dataset, **options)
    history = run_training(model, model_name, ds, split, out, config, resume=resume, show_progress=not no_progress)
    click.echo(f"trained {model_name} for {history[-1]['step']} steps (last loss {history[-1]['loss']:.4f}); "
               f"checkpoints in {out}")  # fmt: skip


@cli.command()
@click.option("--dataset", type=DATASET, required=True)
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
    """List models, datasets, protocols, metric plugins, report formats, figures or splits."""


@list_.command("models")
def list_models():
    """Registered models and their options; a plugin that fails to load is shown, not fatal."""
    from ovbench.registry import MODELS

    specs = MODELS.specs()
    if not specs:
        click.echo("no models installed (pip install a model package, see README)")
    for name, spec in specs.items():
        try:
            model_cls = MODELS.load(spec)
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


def _list_registry(registry_name: str, describe, empty: str = "") -> None:
    """One line per registered name: ``describe(thing)``, where it comes from unless built in, or why it is broken."""
    from ovbench import registry

    specs = getattr(registry, registry_name).specs()
    if not specs and empty:
        click.echo(empty)
    for name, spec in specs.items():
        try:
            thing = getattr(registry, registry_name).load(spec)
        except OvbenchError as exc:
            click.echo(f"{name}  [broken] {exc}")
            continue
        origin = "" if spec.origin == "built-in" else f"  [{spec.origin}]"
        click.echo(f"{name}  {describe(thing)}{origin}")


def _first_doc_line(thing) -> str:
    return (thing.__doc__ or "").strip().splitlines()[0] if (thing.__doc__ or "").strip() else ""


@list_.command("datasets")
def list_datasets():
    _list_registry("DATASETS", lambda cls: f"{cls.num_classes} classes, default split {cls.default_split or '(none)'}")


@list_.command("protocols")
def list_protocols():
    _list_registry("PROTOCOLS", lambda p: f"main score {p.main_metric}: {p.description}")


@list_.command("metrics")
def list_metrics():
    """Metric plugins (ovbench's own metrics are always computed; see README, Protocols and metrics)."""
    _list_registry(
        "METRICS", lambda cls: ", ".join(f"{k} ({t})" for k, t in cls.titles.items()) + f": {_first_doc_line(cls)}",
        empty="no metric plugins installed (ovbench's own metrics are always computed)",
    )


@list_.command("formats")
def list_formats():
    _list_registry("REPORT_FORMATS", lambda form: form.description)


@list_.command("figures")
def list_figures():
    _list_registry("FIGURES", lambda figure: figure.description)


@list_.command("splits")
def list_splits():
    from ovbench.splits import available_splits, load_split

    for name in available_splits():
        s = load_split(name)
        click.echo(f"{name}  {s.dataset}: {len(s.seen_ids)} seen / {len(s.unseen_ids)} unseen, hash {s.hash}")


@cli.command()
@click.argument("files", nargs=-1, type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=REPORT_FORMAT, default="markdown", show_default=True,
              help="markdown, csv, latex (needs \\usepackage{booktabs}), html, or a registered one (ovbench list formats).")  # fmt: skip
@click.option("--per-class", is_flag=True, help="Also per-class IoU tables (seen and unseen marked).")
@click.option("--reported", is_flag=True,
              help="Also every published number, by dataset and protocol (alone without FILES).")  # fmt: skip
@click.option("--reported-file", type=click.Path(path_type=Path), default=None,
              help="Published numbers [default: results/reported.yaml of this checkout].")  # fmt: skip
@click.option("--preamble", type=click.Path(path_type=Path), default=None,
              help="Markdown text placed before the tables (for results/README.md).")  # fmt: skip
@click.option("--out", type=click.Path(path_type=Path), default=None, help="Write here instead of stdout.")
def compare(files, fmt, per_class, reported, reported_file, preamble, out):
    """Leaderboards from result files (or folders of them), one per dataset, subset, split and protocol."""
    from ovbench.atomic import inputs_protected
    from ovbench.reports import DEFAULT_REPORTED, expand_paths, leaderboards, write_text

    preamble_text = None
    if preamble is not None:
        from ovbench.textfiles import read_text

        preamble_text = read_text(preamble, "preamble (--preamble)")
    text = leaderboards(files, fmt, per_class=per_class, reported=reported, reported_file=reported_file,
                        preamble=preamble_text)  # fmt: skip
    if out is None:
        click.echo(text, nl=False)
        return
    inputs = [(p, "result file") for p in (expand_paths(files) if files else [])]
    inputs += [(reported_file or DEFAULT_REPORTED, "published-numbers file"),
               (preamble, "preamble")]  # fmt: skip
    with inputs_protected(inputs):
        write_text(out, text)
    click.echo(f"wrote {out}")


class _PlotGroup(_Group):
    """``ovbench plot``: its fixed commands plus one per registered result figure."""

    def list_commands(self, ctx):
        from ovbench.registry import FIGURES

        return sorted(set(super().list_commands(ctx)) | set(FIGURES.names()))

    def get_command(self, ctx, name):
        from ovbench.registry import FIGURES

        command = super().get_command(ctx, name)
        if command is not None or name not in FIGURES:
            return command
        try:
            help_text = FIGURES.get(name).description
        except OvbenchError as exc:
            help_text = f"[broken] {exc}"
        return _plot_results_command(name, help_text)


@cli.group(cls=_PlotGroup)
def plot() -> None:
    """Figures (PNG and PDF by default) from result files or saved predictions.

    \b
    ovbench plot FIGURE R.json ... --out DIR   one result figure (the commands below; ovbench list figures)
    ovbench plot all R.json ... --out DIR      every result figure that the inputs allow
    ovbench plot qualitative --dataset D --pred LABEL=PRED ... --out DIR
    """


def _plot_outputs(f):
    f = click.option("--dpi", type=click.IntRange(50, 600), default=150, show_default=True, help="PNG resolution.")(f)
    f = click.option("--formats", default="png,pdf", show_default=True, help="Comma-separated: png, pdf, svg.")(f)
    f = click.option("--out", type=click.Path(path_type=Path), required=True, help="Folder for the figures.")(f)
    return f


def _echo_written(paths) -> None:
    for p in paths:
        click.echo(f"wrote {p}")


def _plot_results_command(kind: str, help_text: str) -> click.Command:
    @click.command(kind, help=help_text, short_help=help_text)
    @click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
    @_plot_outputs
    @click.option("--name", default=None, help=f"File name stem [default: {kind}].")
    def command(files, out, formats, dpi, name):
        from ovbench.atomic import inputs_protected
        from ovbench.plots import plot_results
        from ovbench.reports import expand_paths

        with inputs_protected((p, "result file") for p in expand_paths(files)):
            _echo_written(plot_results(kind, files, out, name, _split_formats(formats), dpi))

    return command


def _split_formats(formats: str) -> list[str]:
    return [f.strip().lower() for f in formats.split(",") if f.strip()]


@plot.command("all")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@_plot_outputs
def plot_all_command(files, out, formats, dpi):
    """Every result-based figure the inputs allow (DIR/<kind>.<format>); says which were skipped and why."""
    from ovbench.atomic import inputs_protected
    from ovbench.plots import plot_all
    from ovbench.reports import expand_paths

    with inputs_protected((p, "result file") for p in expand_paths(files)):
        written, skipped = plot_all(files, out, _split_formats(formats), dpi)
    _echo_written(written)
    for line in skipped:
        click.echo(f"skipped {line}")


@plot.command("qualitative")
@click.option("--dataset", type=DATASET, required=True)
@click.option("--data-root", type=click.Path(path_type=Path), default=None,
              help="Dataset folder (or its parent); default $OVBENCH_DATA.")  # fmt: skip
@click.option("--subset", default="val", show_default=True, help="train, val or test.")
@click.option("--split", "split_name", default=None, help="Split name or .yaml path (class names, seen marks).")
@click.option("--pred", "preds", multiple=True, required=True,
              help="LABEL=FOLDER (or FOLDER) of PRED/<video>/<frame stem>.png class ids; one per model.")  # fmt: skip
@click.option("--video", "videos", multiple=True,
              help="Video to show (repeatable) [default: the first with predictions in every folder].")  # fmt: skip
@click.option("--frame", "frames", multiple=True, help="Frame stem to show (repeatable) [default: spread evenly].")
@click.option("--num-frames", type=int, default=4, show_default=True, help="Frames to show without --frame.")
@_plot_outputs
@click.option("--name", default="qualitative", show_default=True, help="File name stem.")
def plot_qualitative_command(dataset, data_root, subset, split_name, preds, videos, frames, num_frames, out, formats,
                             dpi, name):  # fmt: skip
    """A strip of frames: the frames, their ground truth and each model's saved predictions.

    Without --frame, --num-frames predicted frames spread over one video (topped up from the next videos
    when it has fewer, as Cityscapes snippets with one annotated frame).
    """
    from ovbench.atomic import inputs_protected
    from ovbench.datasets import resolve_root
    from ovbench.plots import parse_prediction_args, plot_qualitative

    inputs = [(resolve_root(dataset, data_root), "dataset folder")]
    inputs += [(folder, "predictions folder") for _, folder in parse_prediction_args(preds)]
    with inputs_protected(inputs):
        paths = plot_qualitative(
            dataset, data_root, subset, split_name or default_split(dataset), preds, out, videos=videos,
            frames=frames, count=num_frames, name=name, formats=_split_formats(formats), dpi=dpi,
        )  # fmt: skip
    _echo_written(paths)


def main() -> None:
    cli(prog_name="ovbench")
