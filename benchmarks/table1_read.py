"""The Table 1 run's regime (20,000 world groups split 16,000 / 2,000 / 2,000; 1,000 steps of 32 groups) with the
demo's reward model: the profile read of mini-clip-tuned's patch tokens, and the paper's duplicated plug-ins trained on
top (`reward_table` with `RMTrainConfig(read=True)`); the general model (mini-CLIP), the read alone and the oracle on
the same 2,000 test groups. Only the duplicated variant, to fit the time at hand.

Usage:
  python benchmarks/table1_read.py OUT_DIR OUT.json [--regime industrial] [--variants duplicated]
"""
import argparse, json, sys, time
from pathlib import Path


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out"); ap.add_argument("json")
    ap.add_argument("--regime", default="industrial"); ap.add_argument("--variants", nargs="+", default=["duplicated"])
    a = ap.parse_args()
    from perfusion.experiments import reward_table
    from perfusion.foundation import MINI_CLIP_TUNED
    from perfusion.rm_config import RMTrainConfig

    t0 = time.time()
    cfg = RMTrainConfig(max_steps=1000, read=True)
    res = reward_table(a.regime, a.out, 20_000, cfg, variants=a.variants, backbone=MINI_CLIP_TUNED, progress=False)
    res.pop("curves", None)
    res["seconds"], res["command"] = round(time.time() - t0, 1), " ".join(["python", *sys.argv])
    Path(a.json).write_text(json.dumps(res, indent=1))
    print(json.dumps({k: v["GAUC"] for k, v in res["table"].items()}, indent=1), json.dumps(res["summary"]), res["timing_s"])


if __name__ == "__main__":
    main()
