"""The one scoring loop: videos in, a source's predictions scored against the GT, sinks told as it goes.

Shaped like detectron2's ``inference_on_dataset``: the loop knows nothing of where predictions come
from (:mod:`ovbench.run.sources`) or what is kept of them (:mod:`ovbench.run.sinks`); it checks what
a source yields (one prediction per scored frame, in order, of the mask's size), maps it to class
ids and feeds the :class:`~ovbench.evaluator.Evaluator`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from ovbench.datasets import VideoRecord
from ovbench.errors import DataError, OvbenchError
from ovbench.evaluator import Evaluator
from ovbench.models import NO_PREDICTION
from ovbench.run.decode import FrameReader
from ovbench.run.sinks import VideoSink
from ovbench.run.sources import PredictionSource


def as_uint8(prediction: np.ndarray) -> np.ndarray:
    """Labels as uint8; anything outside 0..255 becomes 255 (no prediction)."""
    if prediction.dtype == np.uint8:
        return prediction
    in_range = (prediction >= 0) & (prediction < 256)
    return np.where(in_range, prediction, NO_PREDICTION).astype(np.uint8)


def score(
    videos: Sequence[VideoRecord], source: PredictionSource, evaluator: Evaluator, reader: FrameReader, *,
    sinks: Sequence[VideoSink] = (), progress=None, before_video: Callable[[], None] = lambda: None,
) -> None:  # fmt: skip
    """Scores every video of ``videos`` (the ``reader`` decodes them in this order), then ``source.finish()``."""
    for position, record in enumerate(videos):
        before_video()
        _score_video(position, record, source, evaluator, reader, sinks, progress)
        if progress is not None:
            progress.video()
    source.finish()


def _refuse_a_frame_unlike_its_mask(frame, mask_shape) -> None:
    """A prediction of the wrong size is most often a frame whose image and mask differ: name the files."""
    from ovbench.datasets.io import image_size

    if frame.image is None:
        return
    size = image_size(frame.image)
    if size != tuple(mask_shape):
        raise DataError(
            f"{frame.image}: frame is {size[1]}x{size[0]}, its mask {frame.label} is {mask_shape[1]}x{mask_shape[0]}; "
            "a frame and its mask must have one size (ovbench check lists every such frame)"
        )


def _score_video(position, record, source, evaluator, reader, sinks, progress) -> None:
    stream = source.open(record, reader, position)
    evaluator.begin_video()
    try:
        for sink in sinks:
            sink.begin_video(record, stream)
        expected = iter(record.scored_indices)
        size = None  # of the video's first mask: a video's frames share one size
        for index, labels in stream.frames:
            want = next(expected, None)
            if index != want:
                raise OvbenchError(
                    f"{source.label} yielded frame {index} of video {record.name}, expected {want}: "
                    "predictions must follow video.scored_indices in order"
                )
            gt = reader.take(position, index).mask
            if size is None:
                size = gt.shape
            elif gt.shape != size:
                raise DataError(
                    f"{record.frames[index].label}: mask is {gt.shape[1]}x{gt.shape[0]}, earlier frames of video "
                    f"{record.name} are {size[1]}x{size[0]}; a video's frames must share one size (ovbench check "
                    "lists every such frame)"
                )
            if labels is not None:
                labels = np.asarray(labels)
                if labels.shape != gt.shape and labels.ndim == 2:
                    _refuse_a_frame_unlike_its_mask(record.frames[index], gt.shape)
                if labels.shape != gt.shape or not np.issubdtype(labels.dtype, np.integer):
                    raise OvbenchError(
                        f"{source.label}: prediction for {record.name}/{record.frames[index].name} is "
                        f"{labels.dtype} {labels.shape}; expected integers of shape {gt.shape}"
                    )
                labels = as_uint8(labels)
                class_ids = labels if stream.lut is None else stream.lut.take(labels)
                evaluator.process(gt, class_ids)
                for sink in sinks:
                    sink.frame(record, index, labels, class_ids)
            if progress is not None:
                progress.frame()
        missing = next(expected, None)
        if missing is not None:
            raise OvbenchError(f"{source.label} gave no prediction for frame {missing} of video {record.name}")
        tally = evaluator.end_video()
        for sink in sinks:
            sink.end_video(record, tally, stream.description)
    except BaseException:
        for sink in sinks:
            sink.abort_video(record)
        raise
    finally:
        stream.close()
