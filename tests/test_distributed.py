"""Distributed evaluation: N processes give the single-process result bit for bit.

Subprocess runs find the test models through ``$OVBENCH_EXTRA_MODELS`` (``tests/`` on PYTHONPATH).
Videos of the fixture and their shards (longest first, by scored frames):
rank 0: 0002AB (9), 0016E5 (18); rank 1: 0001TP (11), 0003CD (13), 0006R0 (3).
"""

from __future__ import annotations

import json
import random
import socket
import subprocess
import sys
from fractions import Fraction

import numpy as np
import pytest
from fixtures import make_camvid_sequences
from run_helpers import SAME, VIDEOS, invoke, run_args, subprocess_env

from ovbench import registry
from ovbench.distributed import Dist, shard
from ovbench.errors import OvbenchError
from ovbench.evaluator import Evaluator, Tally
from ovbench.metrics import VideoConsistency
from ovbench.protocols import get_protocol
from ovbench.results import read_result
from ovbench.splits import load_split


@pytest.fixture(scope="module")
def camvid(tmp_path_factory):
    return make_camvid_sequences(tmp_path_factory.mktemp("data") / "camvid", VIDEOS, seed=1)


@pytest.fixture(scope="module")
def single(camvid, tmp_path_factory):
    """The uninterrupted single-process result every other run must equal."""
    out = tmp_path_factory.mktemp("single") / "one.json"
    res = invoke(camvid, out)
    assert res.exit_code == 0, res.output
    return read_result(out)


def torchrun(tmp_path, *args, nproc=2, timeout=120):
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}",
               "-m", "ovbench", *args]  # fmt: skip
    return subprocess.run(command, env=subprocess_env(tmp_path), cwd=tmp_path, capture_output=True, text=True,
                          timeout=timeout)  # fmt: skip


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def spawn_ranks(tmp_path, *args, world=2, timeout=90):
    """The processes torchrun would start (same environment), without its launcher: faster to start."""
    port = free_port()
    procs = []
    for rank in range(world):
        env = subprocess_env(tmp_path, WORLD_SIZE=str(world), RANK=str(rank), LOCAL_RANK=str(rank),
                             LOCAL_WORLD_SIZE=str(world), MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port),
                             OVBENCH_DIST_TIMEOUT="60")  # fmt: skip
        procs.append(subprocess.Popen([sys.executable, "-m", "ovbench", *args], env=env, cwd=tmp_path,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))  # fmt: skip
    outputs = [p.communicate(timeout=timeout) for p in procs]
    return [(p.returncode, out, err) for p, (out, err) in zip(procs, outputs)]


# --------------------------------------------------------------------------------------------- end to end


def test_two_processes_under_torchrun_equal_one_process_exactly(camvid, single, tmp_path):
    out = tmp_path / "results" / "two.json"
    done = torchrun(tmp_path, *run_args(camvid, out, "--workers", "1"))  # decoding processes forked by each rank
    assert done.returncode == 0, done.stderr
    two = read_result(out)
    for key in SAME:
        assert two[key] == single[key], key  # floats compared with ==: bit-identical
    assert two["metrics"]["mvc8"] is not None and 0 < two["metrics"]["mvc8"] < 100
    assert two["timing"]["processes"] == 2 and two["timing"]["frames_run"] == 54
    assert done.stdout.count("wrote ") == 1  # rank 0 alone reports
    assert "error" not in done.stderr
    assert sorted(p.name for p in (tmp_path / "results").iterdir()) == ["two.json"]  # partials removed, no strays


def test_a_failure_on_one_rank_stops_all_and_is_reported_once(camvid, tmp_path):
    out = tmp_path / "r.json"
    args = run_args(camvid, out, "--fail-video", "0001TP", "--sleep", "0.3")  # rank 1's first video fails
    (code0, _, err0), (code1, _, err1) = spawn_ranks(tmp_path, *args)
    assert (code0, code1) == (2, 2), (err0, err1)
    assert err0.count("error:") == 1 and "error: rank 1: model 'pattern': prediction for 0001TP/" in err0
    assert "Traceback" not in err0 + err1 and err1 == ""
    assert not out.exists()
    # rank 0 stopped after the video it was on (0002AB, 2.7 s) instead of also running 0016E5 (5.4 s)
    assert not (tmp_path / "r.json.partial" / "video-0016E5.json").exists()


def test_a_bad_option_on_every_rank_is_reported_once(camvid, tmp_path):
    (code0, _, err0), (code1, _, err1) = spawn_ranks(tmp_path, *run_args(camvid, tmp_path / "r.json", "--shift", "x"))
    assert (code0, code1) == (2, 2)
    assert err0.strip() == "error: --shift: 'x' is not a valid int" and err1 == ""


def test_killed_two_process_run_resumes_in_one_process(camvid, single, tmp_path):
    out = tmp_path / "r.json"
    killed = torchrun(tmp_path, *run_args(camvid, out, "--kill-after", "1"))
    assert killed.returncode != 0 and not out.exists()
    saved = sorted(p.name for p in (tmp_path / "r.json.partial").glob("video-*.json"))
    assert saved and set(saved) <= {"video-0002AB.json", "video-0001TP.json"}  # each rank's first video
    res = invoke(camvid, out, "--resume")
    assert res.exit_code == 0, res.output
    assert f"{len(saved)} of 5 videos already scored" in res.output
    resumed = read_result(out)
    for key in SAME:
        assert resumed[key] == single[key], key
    assert resumed["timing"]["resumed_videos"] == len(saved)


# --------------------------------------------------------------------------------------------- exact sums


def test_vc_sums_are_exact_whatever_the_order_or_grouping():
    rng = random.Random(0)
    per_video = [[rng.randrange(1, 10**6) / rng.randrange(10**6, 10**7) for _ in range(rng.randrange(1, 40))]
                 for _ in range(60)]  # fmt: skip
    sums = [{8: (sum(map(Fraction, ratios), Fraction(0)), len(ratios))} for ratios in per_video]

    def pooled(order, groups):
        parts = [VideoConsistency((8,)) for _ in range(groups)]
        for k, i in enumerate(order):
            parts[k % groups].add(sums[i])
        for part in parts[1:]:
            parts[0].merge(part)
        return parts[0].compute()[8]

    orders = [list(range(60))] + [rng.sample(range(60), 60) for _ in range(20)]
    results = {pooled(order, groups) for order in orders for groups in (1, 2, 3, 7)}
    assert len(results) == 1
    exact = sum(Fraction(r) for ratios in per_video for r in ratios) / sum(map(len, per_video))
    assert results == {float(exact)}  # the correctly rounded mean
    # naive float sums do depend on the order here, so the test above has teeth
    naive = {sum(sum(per_video[i]) for i in order) for order in orders}
    assert len(naive) > 1


def test_evaluator_tallies_round_trip_and_add_up_exactly():
    split, protocol = load_split("camvid-7-4"), get_protocol("gzsl")
    rng = np.random.default_rng(3)
    videos = [[(rng.integers(0, 12, (6, 7), dtype=np.uint8) % 12, rng.integers(0, 12, (6, 7), dtype=np.uint8))
               for _ in range(int(rng.integers(9, 20)))] for _ in range(6)]  # fmt: skip
    whole = Evaluator(split, protocol)
    tallies = []
    for frames in videos:
        whole.begin_video()
        for gt, pred in frames:
            whole.process(np.where(gt == 11, 255, gt).astype(np.uint8), pred)
        tallies.append(Tally.from_json(json.loads(json.dumps(whole.end_video().to_json()))))
    again = Evaluator(split, protocol)
    for tally in reversed(tallies):
        again.add(tally)
    assert again.evaluate() == whole.evaluate()
    assert (again.num_videos, again.num_frames) == (whole.num_videos, whole.num_frames)
    assert np.array_equal(again.confusion.matrix, whole.confusion.matrix)
    with pytest.raises(ValueError, match="malformed tally"):
        Tally.from_json({"videos": 1, "frames": 1, "pairs": [70000], "counts": [1], "vc": {"8": ["0", 0], "16": ["0", 0]}})
    with pytest.raises(ValueError, match="window sizes"):
        Tally.from_json({"videos": 1, "frames": 1, "pairs": [], "counts": [], "vc": {"8": ["0", 0]}})


# --------------------------------------------------------------------------------------------- sharding


def test_shards_are_deterministic_disjoint_and_balanced():
    costs = [11, 3, 18, 9, 13]
    assert shard(costs, 0, 2) == [2, 3] and shard(costs, 1, 2) == [0, 1, 4]
    rng = random.Random(1)
    costs = [rng.randrange(1, 300) for _ in range(343)]
    for world in (1, 2, 3, 8):
        parts = [shard(costs, r, world) for r in range(world)]
        assert sorted(i for p in parts for i in p) == list(range(len(costs)))
        assert all(p == sorted(p) for p in parts)  # each rank runs its videos in video order
        loads = [sum(costs[i] for i in p) for p in parts]
        assert max(loads) - min(loads) <= max(costs)


def test_single_process_dist_is_a_no_op():
    dist = Dist()
    assert dist.all_gather(5) == [5] and dist.gather(5) == [5] and not dist.peer_failed()
    assert dist.agree(lambda: 7) == 7
    with pytest.raises(OvbenchError, match="boom"):
        dist.agree(lambda: (_ for _ in ()).throw(OvbenchError("boom")))


def test_cuda_device_is_refused_with_an_index_under_torchrun():
    from ovbench.distributed import rank_device

    assert rank_device("cpu", 1, 2) == "cpu" and rank_device("cuda:1", 0, 1) == "cuda:1"
    with pytest.raises(OvbenchError, match="under torchrun pass --device cuda"):
        rank_device("cuda:1", 0, 2)


def test_extra_models_variable_is_checked(monkeypatch):
    monkeypatch.setenv("OVBENCH_EXTRA_MODELS", "good=scaling_models:Pattern, bad-entry")
    with pytest.raises(OvbenchError, match=r"\$OVBENCH_EXTRA_MODELS: 'bad-entry' is not name=module:Class"):
        registry.available_models()
    monkeypatch.setenv("OVBENCH_EXTRA_MODELS", "good=scaling_models:Pattern")
    assert registry.available_models()["good"].origin == "$OVBENCH_EXTRA_MODELS"
    assert registry.get_model_class("good").__name__ == "Pattern"
