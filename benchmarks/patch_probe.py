"""Linear probes of the world's attributes from what a CLIP vision tower gives of an image: the unit-norm projected
embedding (`proj`), the pooled output before the projection, the mean of the last layer's patch tokens, the last
layer's patch tokens flattened (`patch_flat`) and the first layer's (`l1_flat`). 4,000 freshly rendered random items
(no merchant, no label of taste); logistic regression on 3,000, accuracy on the other 1,000.

Usage:
  python benchmarks/patch_probe.py OUT.json mini-clip-tuned mini-clip
"""
import torch, numpy as np, time, json, sys
from sklearn.linear_model import LogisticRegression
from perfusion.pretrain import ItemBank
from perfusion.foundation import load_mini_clip
from perfusion.world import ATTRIBUTES
from transformers import CLIPImageProcessor
torch.set_num_threads(2)
t0=time.time()
bank = ItemBank(4000, seed=777, size=64, progress=False)
print("render", time.time()-t0, flush=True)
mean = torch.tensor(CLIPImageProcessor().image_mean).view(1,3,1,1); std = torch.tensor(CLIPImageProcessor().image_std).view(1,3,1,1)
x = ((bank.images+1)/2-mean)/std
res={}
OUT = sys.argv[1]
for name in sys.argv[2:]:
    clip, proc = load_mini_clip(name)
    feats = {k: [] for k in ("proj","pooled","patch_mean","patch_flat","l1_flat")}
    with torch.no_grad():
        for i in range(0, len(x), 256):
            o = clip.vision_model(pixel_values=x[i:i+256], output_hidden_states=True)
            feats["pooled"].append(o.pooler_output)
            e = clip.visual_projection(o.pooler_output); feats["proj"].append(e/e.norm(dim=-1,keepdim=True))
            h = o.last_hidden_state[:,1:]
            feats["patch_mean"].append(h.mean(1)); feats["patch_flat"].append(h.flatten(1))
            feats["l1_flat"].append(o.hidden_states[1][:,1:].flatten(1))
    feats = {k: torch.cat(v).numpy() for k,v in feats.items()}
    r = {}
    for k, f in feats.items():
        f = (f - f[:3000].mean(0))/ (f[:3000].std(0)+1e-6)
        r[k] = {}
        for a in ATTRIBUTES:
            y = np.array([it[a] for it in bank.items])
            clf = LogisticRegression(max_iter=300, C=0.1 if f.shape[1]>1000 else 1.0).fit(f[:3000], y[:3000])
            r[k][a] = round(clf.score(f[3000:], y[3000:]),3)
        print(name, k, r[k], round(time.time()-t0), flush=True)
    res[name]=r
json.dump(res, open(OUT, "w"), indent=1)
