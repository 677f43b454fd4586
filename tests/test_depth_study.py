"""``cnncost depth-study``: a tiny study (seconds) that is deterministic per seed and in which every network's loss
fell; resuming skips finished networks; Ctrl-C keeps them; bad options are one line; outputs fit 80 columns."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("sklearn")

from test_cli import run  # noqa: E402  (tests/test_cli.py: the CLI in-process, stdout and stderr apart)
from test_widths import check_fits  # noqa: E402

from cnncost.errors import MissingDependencyError, UsageError  # noqa: E402
from cnncost.torch.depth_study import (  # noqa: E402
    NetworkResult,
    Point,
    Progress,
    StudyConfig,
    load_data,
    run_study,
    verdicts,
)

pytestmark = pytest.mark.torch

#: Seconds, not minutes: two depths, narrow nets (4/8/16 filters), 30 iterations recorded every 10.
TINY = StudyConfig(depths=(8, 14), budget=30, width=0.25, batch=32, record_every=10)


def test_a_tiny_study_is_deterministic_per_seed_and_every_network_learns() -> None:
    first = run_study(TINY)
    again = run_study(TINY)
    assert [(r.name, r.curve, r.initial_loss) for r in first.results] == [
        (r.name, r.curve, r.initial_loss) for r in again.results
    ]
    assert [r.name for r in first.results] == ["plain-8", "plain-14", "resnet-8", "resnet-14"]
    for r in first.results:
        assert not r.diverged
        assert [p.iteration for p in r.curve] == [10, 20, 30]
        assert r.loss_fell, (r.name, r.initial_loss, r.curve[-1].train_loss)
        assert 0 <= r.curve[-1].train_error <= 1 and 0 <= r.curve[-1].test_error <= 1
    # same layers, same parameters: a shortcut (option A) has none
    assert first.results[0].params == first.results[2].params
    other = run_study(StudyConfig(depths=(8, 14), budget=30, width=0.25, batch=32, record_every=10, seed=1))
    assert [r.curve for r in other.results] != [r.curve for r in first.results]


def test_the_data_is_the_digits_split_and_standardized() -> None:
    data = load_data(TINY)
    # 1,797 images; a stratified 20% test split: 360 test, 1,437 train
    assert (len(data.train_y), len(data.test_y)) == (1_437, 360)
    assert tuple(data.train_x.shape) == (1_437, 1, 8, 8)
    assert float(data.train_x.mean()) == pytest.approx(0, abs=1e-5)
    assert float(data.train_x.std()) == pytest.approx(1, abs=1e-5)
    up = load_data(StudyConfig(size=16))
    assert tuple(up.test_x.shape) == (360, 1, 16, 16)


def test_resume_skips_finished_networks_and_ctrl_c_keeps_them(tmp_path: Path) -> None:
    results = str(tmp_path / "study.json")
    config = StudyConfig(depths=(8,), budget=12, width=0.25, batch=16, record_every=4)

    def interrupt_second(event: Progress) -> None:
        if event.index == 2 and event.iteration == 5:
            raise KeyboardInterrupt

    stopped = run_study(config, results_path=results, progress=interrupt_second)
    assert stopped.interrupted and [r.name for r in stopped.results] == ["plain-8"]
    kept = json.loads(Path(results).read_text(encoding="utf-8"))
    assert [n["name"] for n in kept["networks"]] == ["plain-8"]

    events: list[Progress] = []
    resumed = run_study(config, results_path=results, progress=events.append)
    assert not resumed.interrupted and resumed.resumed == 1
    assert [e.name for e in events if e.skipped] == ["plain-8"]
    assert {e.name for e in events if not e.skipped} == {"resnet-8"}
    assert resumed.results[0].curve == stopped.results[0].curve
    again: list[Progress] = []
    run_study(config, results_path=results, progress=again.append)
    assert all(e.skipped for e in again) and len(again) == 2

    other = StudyConfig(depths=(8,), budget=13, width=0.25, batch=16, record_every=4)
    with pytest.raises(UsageError, match=r"other settings \(budget\)"):
        run_study(other, results_path=results)
    fresh = run_study(other, results_path=results, fresh=True)
    assert len(fresh.results) == 2


def test_verdicts_say_yes_no_within_noise_and_diverged() -> None:
    def net(family: str, depth: int, error: float, diverged: bool = False, images: int = 1_280) -> NetworkResult:
        curve = () if diverged else (Point(10, error, 1.0, error, images),)
        return NetworkResult(family, depth, 1, 1, 2.3, curve, 1.0, diverged)

    results = [net("plain", 8, 0.02), net("plain", 20, 0.05), net("plain", 56, 0.30), net("resnet", 56, 0.01)]
    assert verdicts(results) == [
        ("plain-56 ends at a higher training error than plain-20", "yes", "30.0% vs 5.0%"),
        ("plain-56 ends at a higher training error than plain-8", "yes", "30.0% vs 2.0%"),
        ("resnet-56 ends at a lower training error than plain-56", "yes", "1.0% vs 30.0%"),
    ]
    flat = [net("plain", 8, 0.10), net("plain", 20, 0.05), net("resnet", 8, 0.1), net("resnet", 20, 0.0, True)]
    assert verdicts(flat) == [
        ("plain-20 ends at a higher training error than plain-8", "no", "5.0% vs 10.0%"),
        ("resnet-20 ends at a higher training error than resnet-8", "yes", "diverged vs 10.0%"),
        ("resnet-20 ends at a lower training error than plain-20", "no", "diverged vs 5.0%"),
    ]
    # 90.4% vs 90.2% over 1,280 images each: standard errors √(0.904·0.096/1280) = 0.00823 and
    # √(0.902·0.098/1280) = 0.00831, together √(0.00823² + 0.00831²) = 0.0117; 0.002 < 2 · 0.0117
    chance = [net("plain", 8, 0.902), net("plain", 56, 0.904)]
    question = "plain-56 ends at a higher training error than plain-8"
    assert verdicts(chance) == [(question, "within noise", "90.4% vs 90.2%")]
    # the same difference over 1,000,000 images each is real: 2 · √(2 · 0.9·0.1/10⁶) ≈ 0.00085 < 0.002
    many = [net("plain", 8, 0.902, images=10**6), net("plain", 56, 0.904, images=10**6)]
    assert verdicts(many)[0][1] == "yes"
    assert verdicts([net("plain", 8, 0.1, True), net("plain", 20, 0.1, True)])[0][1] == "cannot tell"


def test_cli_writes_results_and_pictures_and_fits_80_columns(tmp_path: Path) -> None:
    out = tmp_path / "study"
    args = ("depth-study", "--depths", "8,14", "--budget", "6", "--width", "0.25", "--batch", "16", "-o", str(out))
    first = run(*args)
    assert first.code == 0 and "network(s) taken from the results file" not in first.stdout
    small, large = check_fits(args)  # three more runs, each resuming all four networks from the file
    for text in (small, large):
        assert "4 network(s) taken from the results file" in text
        assert "plain-14 ends at a higher training error than plain-8: " in " ".join(text.split())
        assert "resnet-14 ends at a lower training error than plain-14: " in " ".join(text.split())
    data = json.loads((out / "depth-study.json").read_text(encoding="utf-8"))
    assert [n["name"] for n in data["networks"]] == ["plain-8", "plain-14", "resnet-8", "resnet-14"]
    assert data["settings"]["filters"] == [4, 8, 16] and data["data"]["train"] == 1_437
    if "matplotlib" in sys.modules or _has_matplotlib():
        for name in ("training-error.png", "error-vs-depth.png"):
            assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    result = run(*args, "--format", "json")
    assert result.code == 0 and json.loads(result.stdout)["verdicts"]
    csv_lines = run(*args, "--format", "csv").stdout.splitlines()
    assert csv_lines[0] == "network,family,depth,iteration,train_error,train_loss,test_error"
    assert len(csv_lines) == 1 + 4 * 6  # recorded at every one of the 6 iterations (budget // 20 < 1)


def _has_matplotlib() -> bool:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.mark.parametrize(
    ("option", "expected"),
    [
        (["--depths", "8,10"], "10 is not 6n + 2"),
        (["--depths", "eight"], "not a list of whole numbers"),
        (["--width", "0.01"], "--width"),
        (["--lr", "-1"], "--lr"),
        (["--budget", "0"], "--budget"),
        (["--optimizer", "rmsprop"], "rmsprop"),
        (["--families", "plain,dense"], "no family 'dense'"),
        (["--depths", "1202", "--width", "4", "--batch", "1024"], "GiB of layer outputs"),
        (["--device", "cuda"] if not torch.cuda.is_available() else ["--device", "tpu"], "--device"),
    ],
)
def test_bad_options_are_one_line(option: list[str], expected: str, tmp_path: Path) -> None:
    result = run("depth-study", "--budget", "2", "-o", str(tmp_path / "s"), *option)
    assert result.code in (1, 2)
    assert result.stdout == ""
    assert expected in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_a_results_file_from_elsewhere_is_refused_in_one_line(tmp_path: Path) -> None:
    (tmp_path / "depth-study.json").write_text("[1, 2]", encoding="utf-8")
    result = run("depth-study", "--budget", "2", "-o", str(tmp_path))
    assert result.code == 2 and "is not a depth-study results file" in result.stderr
    assert (tmp_path / "depth-study.json").read_text(encoding="utf-8") == "[1, 2]"


def test_without_matplotlib_the_study_still_gives_its_numbers(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    result = run("depth-study", "--depths", "8", "--families", "plain", "--budget", "3", "-o", str(tmp_path))
    assert result.code == 0 and "plain-8" in result.stdout
    assert "no pictures" in result.stderr and "pip install matplotlib" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["depth-study.json"]
    again = run("depth-study", "--depths", "8", "--families", "plain", "--budget", "3", "-o", str(tmp_path), "--fresh")
    assert again.code == 0 and "taken from the results file" not in again.stdout


def test_without_scikit_learn_one_line_says_how_to_get_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "sklearn", None)
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    with pytest.raises(MissingDependencyError, match="pip install scikit-learn"):
        load_data(TINY)


def test_the_progress_bar_draws_on_stderr_and_clears_itself(capsys: pytest.CaptureFixture[str]) -> None:
    from cnncost.render.depth_study import ProgressBar

    with ProgressBar(enabled=True) as bar:
        bar(Progress("plain-8", 1, 2, 200, 400, 0.5))
        bar(Progress("resnet-8", 2, 2, 400, 400, 0.25, skipped=True))
    err = capsys.readouterr().err
    assert "[1/2] plain-8 [" + "#" * 12 + "-" * 12 + "] 200/400 loss 0.500" in err
    assert "[2/2] resnet-8: in the results file already" in err
    assert err.endswith("\r\x1b[2K")
    with ProgressBar(enabled=False) as quiet:
        quiet(Progress("plain-8", 1, 2, 200, 400, 0.5))
    assert capsys.readouterr().err == ""
