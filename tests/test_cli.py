"""End-to-end tests of the installed `perfusion` console script (the README's main command)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

EXE = Path(sys.executable).parent / "perfusion"


def run(*args, cwd=None):
    return subprocess.run(
        [str(EXE), *args], capture_output=True, text=True, cwd=cwd, timeout=3600
    )  # a guard against hangs, not a speed test


def test_version():
    r = run("--version")
    assert r.returncode == 0 and r.stdout.startswith("perfusion "), r.stderr


def test_console_script_is_installed():
    assert EXE.exists(), f"{EXE} not found: install the package with pip install -e ."


@pytest.mark.parametrize(
    "sub",
    [None, "demo", "world", "build-data", "pretrain", "train-rm", "train", "generate", "evaluate", "studio", "gpu"],
)
def test_help(sub):
    r = run(*([sub] if sub else []), "--help")
    assert r.returncode == 0, r.stderr
    if sub in ("pretrain", "train-rm", "train"):
        assert "--checkpointing-steps" in r.stdout and "--resume-from-checkpoint" in r.stdout
    if sub in ("demo", "train", "evaluate"):
        assert "(default: " in r.stdout  # every option shows its default
    if sub is None:
        for name in (
            "demo",
            "world",
            "build-data",
            "pretrain",
            "train-rm",
            "train",
            "generate",
            "evaluate",
            "studio",
            "gpu",
        ):
            assert name in r.stdout


def test_demo_quick_writes_results_and_resumes(tmp_path):
    out = tmp_path / "demo"
    r = run("demo", "--quick", "--out", str(out))
    assert r.returncode == 0, r.stderr
    res = json.loads((out / "results.json").read_text())
    assert res["seed"] == 0 and res["regime"] == "industrial" and res["quick"] is True
    assert set(res["reward"]) == {"oracle", "general", "profile_read", "perfusion_rm"}
    assert all(set(m) == {"MAP", "GAUC", "MAP_ci", "GAUC_ci"} for m in res["reward"].values())
    assert all(m["GAUC_ci"][0] <= m["GAUC"] <= m["GAUC_ci"][1] for m in res["reward"].values())
    assert 0.5 < res["reward"]["oracle"]["GAUC"] <= 1.0
    assert res["reward"]["oracle"]["GAUC"] > res["general_oracle"]["GAUC"]
    assert set(res["generation"]) == {"base", "sft", "dpo", "pmg", "perfusion"}
    keys = {
        "true_utility",
        "true_utility_ci",
        "personalization_gap",
        "personalization_gap_ci",
        "paired_delta",
        "consistency",
        "perfusion_rm",
        "general",
        "fav_colour",
        "fav_pattern",
    }
    assert all(keys <= set(m) for m in res["generation"].values())
    for m in ("base", "sft", "dpo"):  # models that ignore the user: the same image for another merchant
        assert res["generation"][m]["personalization_gap"] == 0.0
    assert set(res["generation"]["perfusion"]["paired_delta"]) == {"base", "sft", "dpo", "pmg"}
    assert set(res["left_out"]["models"]) == {
        "prm_shared",
        "prm_vision_only",
        "prm_text_only",
        "pf_wo_pan",
        "pf_wo_gobj",
        "pf_wo_both",
    }
    assert sum(res["world"]["splits"].values()) == res["world"]["groups"] == 400
    assert (out / "gallery.png").stat().st_size > 1000 and (out / "report.html").stat().st_size > 10_000
    for split in ("train", "validation", "test"):
        assert (out / "rm" / "data" / "industrial" / split).is_dir()
    again = run("demo", "--quick", "--out", str(out))
    assert again.returncode == 0, again.stderr
    assert again.stdout.count("reusing the finished stage") == 4, again.stdout
    res2 = json.loads((out / "results.json").read_text())
    assert res2["reward"] == res["reward"] and res2["generation"] == res["generation"]


def test_demo_pickapic_regime(tmp_path):
    r = run("demo", "--quick", "--regime", "pickapic", "--seed", "3", "--out", str(tmp_path / "p"))
    assert r.returncode == 0, r.stderr
    res = json.loads((tmp_path / "p" / "results.json").read_text())
    assert res["regime"] == "pickapic" and res["seed"] == 3 and res["world"]["group_size"] == 2


def test_world_and_build_data(tmp_path):
    r = run("world", "--regime", "pickapic", "--groups", "300", "--gallery", str(tmp_path / "g.png"))
    assert r.returncode == 0, r.stderr
    assert "oracle" in r.stdout and (tmp_path / "g.png").exists()
    r = run("build-data", "--source", "world", "--regime", "pickapic", "--groups", "20", "--out", str(tmp_path / "ds"))
    assert r.returncode == 0, r.stderr
    assert "saved 20 groups" in r.stdout
    report = json.loads((tmp_path / "ds.report.json").read_text())
    assert report["kept"] == 20


def test_bad_input_gives_a_message_not_a_traceback(tmp_path):
    r = run("build-data", "--source", "log", "--path", str(tmp_path / "nope.jsonl"), "--out", str(tmp_path / "x"))
    assert r.returncode == 2
    assert "no log at" in r.stderr and "Traceback" not in r.stderr
    r = run("demo", "--regime", "moon")
    assert r.returncode == 2 and "invalid choice" in r.stderr


def test_pretrain_tiny_then_load(tmp_path):
    out = tmp_path / "models"
    r = run("pretrain", "--tiny", "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert "mini-SD prompt consistency" in r.stdout
    for name in ("mini-sd", "mini-clip", "judge"):
        assert (out / name / "README.md").exists()
    code = (
        "from perfusion.foundation import load_mini_sd, load_mini_clip, load_judge; from perfusion.sampling import generate; "
        "import sys; d = sys.argv[1]; "
        "pipe = load_mini_sd(d + '/mini-sd'); load_mini_clip(d + '/mini-clip'); j = load_judge(d + '/judge'); "
        "print(sorted(j.read(generate(pipe, ['dress, red'], steps=2))[0]))"
    )
    r = subprocess.run(
        [sys.executable, "-c", code, str(out)],
        capture_output=True,
        text=True,
        timeout=3600,
        env={**__import__("os").environ, "HF_HUB_OFFLINE": "1"},
    )
    assert r.returncode == 0, r.stderr
    assert "colour" in r.stdout and "quality" in r.stdout
    again = run("pretrain", "--tiny", "--out", str(out))  # finished stages are resumed, not retrained
    assert again.returncode == 0, again.stderr


def test_train_rm_resumes_and_refuses_a_changed_recipe(tmp_path):
    out = tmp_path / "rm"
    args = ("train-rm", "--out", str(out), "--groups", "60", "--steps", "3", "--batch-size", "8")
    r = run(*args)
    assert r.returncode == 0, r.stderr
    res = json.loads((out / "results.json").read_text())
    assert set(res["test"]) == {"general", "perfusion_rm"} and res["groups"] == {
        "train": 48,
        "validation": 6,
        "test": 6,
    }
    again = run(*args)  # finished: resumed at step 3, nothing retrained
    assert again.returncode == 0, again.stderr
    assert json.loads((out / "results.json").read_text())["test"] == res["test"]
    changed = run(*args[:-2], "--batch-size", "16")
    assert changed.returncode == 2 and "different configuration" in changed.stderr


def test_user_path_from_data_to_images_and_a_table(tmp_path):
    "build-data -> train-rm --data -> train --data (DPO, then PerFusion on it) -> generate -> evaluate, on 40 groups."
    data, out = tmp_path / "groups", tmp_path / "runs"
    steps = ["--steps", "2", "--batch-size", "4"]
    r = run("build-data", "--source", "world", "--groups", "40", "--out", str(data))
    assert r.returncode == 0, r.stderr
    r = run("train-rm", "--data", str(data), "--out", str(tmp_path / "rm"), *steps)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "rm" / "run" / "perfusion_rm").exists()
    r = run("train", "--method", "dpo", "--data", str(data), "--out", str(out), *steps)
    assert r.returncode == 0, r.stderr
    r = run(
        "train",
        "--method",
        "perfusion",
        "--data",
        str(data),
        "--out",
        str(out),
        "--on",
        str(out / "dpo" / "model"),
        *steps,
    )
    assert r.returncode == 0, r.stderr
    assert (out / "perfusion" / "model" / "base" / "personalized_unet.json").exists()  # stacked on DPO, saved with it
    assert (out / "perfusion" / "model" / "README.md").exists()  # its model card
    r = run(
        "generate",
        "--model",
        str(out / "perfusion" / "model"),
        "--prompt",
        "dress, red",
        "--user",
        "u0001",
        "--n",
        "2",
        "--steps",
        "3",
        "--out",
        str(tmp_path / "img" / "grid.png"),
    )
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in (tmp_path / "img").iterdir()) == ["grid-0.png", "grid-1.png", "grid.png"]
    r = run(
        "evaluate", "--runs", str(out), "--data", str(data), "--pairs", "3", "--sample-steps", "2", "--n-boot", "20"
    )
    assert r.returncode == 0, r.stderr
    assert "Table 2 on 3 pairs" in r.stderr  # evaluation shows its progress
    ev = json.loads((out / "evaluation.json").read_text())
    assert ev["methods"] == ["dpo", "perfusion"] and sorted(ev["summary"]) == ["base", "dpo", "perfusion", "pmg"]
