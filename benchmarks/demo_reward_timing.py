"""The demo's reward stage on seed 0, the demo's configuration (the two-stage PerFusionRM) and the previous one (the
paper's PerFusionRM on mini-CLIP), one after the other on the same machine, each from the demo's rendered data.

Usage:
  python benchmarks/demo_reward_timing.py DEMO_OUT OUT.json     # DEMO_OUT: a finished `perfusion demo --seed 0 --out DEMO_OUT`
"""
import json, shutil, sys, tempfile, time
from dataclasses import replace
from pathlib import Path
from perfusion.demo import DemoConfig, _demo_reward

demo_out, dest = Path(sys.argv[1]), Path(sys.argv[2])
work, res = Path(tempfile.mkdtemp()), {}
for name, cfg in (("two_stage", DemoConfig()), ("previous", DemoConfig(rm=replace(DemoConfig().rm, read=False), rm_backbone="mini-clip"))):
    out = work / name
    shutil.copytree(demo_out / "rm" / "data", out / "rm" / "data")
    t0 = time.time()
    r = _demo_reward(out, "industrial", cfg, 0, False)
    res[name] = {"seconds": round(time.time() - t0, 1), "timing_s": r["timing_s"], "GAUC": {k: v["GAUC"]["value"] for k, v in r["table"].items()}}
    print(name, json.dumps(res[name]), flush=True)
res["command"] = " ".join(["python", *sys.argv])
dest.write_text(json.dumps(res, indent=1))
shutil.rmtree(work)
