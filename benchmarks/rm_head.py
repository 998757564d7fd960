"""A prototype lever for PerFusionRM, not in the paper and not in the package: a user-conditioned linear read of the
image embedding added to its score.

    score(prompt, image, user) = PerFusionRM's score + <W c(u), v>

v is the normalized image embedding PerFusionRM computes anyway (with the user's shifts in the vision tower), c a
feature-crossing network of its own over the user's features (Eq. 2, the plug-ins' sizes) and W a linear map
initialised to zero, so that an untrained model scores exactly as the backbone. It is the form of the bilinear ranker
of `rm_ceiling.py` (per pair of profile features a direction in embedding space), learnt end to end with the plug-ins.

`install_head(only=True)` switches the AdaNets' shifts off: the backbone's score plus the head's term, a bilinear
read of the frozen embedding fitted the way PerFusionRM is fitted. `install_head()` patches `PerFusionRM.from_backbone` (the head is attached to the plug-ins, so the trainer's
optimizer and checkpoints include it) and `PerFusionRM.forward` for the rest of the process; `rm_levers.py --head`
calls it. Saved plug-ins of such a model cannot be loaded back by the package (its config does not know the head):
the benchmark scores the model in memory.

Run `python benchmarks/rm_head.py` to check the zero-initialised head against the backbone.
"""
import torch
import torch.nn.functional as F
from torch import nn


class UserHead(nn.Module):
    "A user's direction in image-embedding space: W c(u), W zero at the start."

    def __init__(self, field_sizes, embed_dim: int, cross_layers: int, proj_dim: int, cross: str = "vector"):
        super().__init__()
        from perfusion.crossing import FeatureCrossing

        self.crossing = FeatureCrossing(field_sizes, embed_dim, cross_layers, cross)
        self.proj = nn.Linear(self.crossing.out_dim, proj_dim)
        nn.init.zeros_(self.proj.weight)
        nn.init.zeros_(self.proj.bias)

    def forward(self, feature_ids: torch.Tensor) -> torch.Tensor:
        return self.proj(self.crossing(feature_ids))


def install_head(only: bool = False):
    """Give every PerFusionRM built from now on in this process the head (see the module's docstring). `only`: the
    AdaNets' shifts are switched off, so the score is the backbone's plus the head's term (a diagnostic)."""
    from perfusion.foundation import pooled_features
    from perfusion.reward import PerFusionRM

    if getattr(PerFusionRM, "_head_installed", None) is not None:
        if PerFusionRM._head_installed != only:
            raise RuntimeError("the head is already installed in this process with the other `only`")
        return
    build = PerFusionRM.from_backbone.__func__

    def from_backbone(cls, backbone, vocab, variant="duplicated", backbone_name=None, **kw):
        rm = build(cls, backbone, vocab, variant, backbone_name, **kw)
        c = rm.plugins.config
        rm.plugins.head = UserHead(c.field_sizes, c.embed_dim, c.cross_layers, backbone.config.projection_dim, c.cross)
        return rm

    def forward(self, input_ids, pixel_values, feature_ids, attention_mask=None):
        B, N = pixel_values.shape[:2]
        deltas = None if only else self.plugins(feature_ids.to(input_ids.device))  # only: the AdaNets are not run
        if deltas and "vision" in deltas:
            deltas["vision"] = deltas["vision"].repeat_interleave(N, dim=0)
        self._deltas = deltas
        try:  # the package's score (foundation.clip_scores), with the image embedding kept for the head
            m = self.backbone
            t = F.normalize(pooled_features(m.get_text_features(input_ids=input_ids, attention_mask=attention_mask)), dim=-1)
            v = F.normalize(pooled_features(m.get_image_features(pixel_values=pixel_values.flatten(0, 1))), dim=-1)
            v = v.view(B, N, -1)
        finally:
            self._deltas = None
        scores = m.logit_scale.exp() * (t[:, None, :] * v).sum(-1)
        w = self.plugins.head(feature_ids.to(input_ids.device))
        return scores + (w[:, None, :] * v).sum(-1)

    PerFusionRM.from_backbone = classmethod(from_backbone)
    PerFusionRM.forward = forward
    PerFusionRM._head_installed = only


def check():
    "An untrained PerFusionRM with the head scores exactly as the backbone, and the head receives gradients."
    from perfusion.data import FeatureVocab, build_world
    from perfusion.foundation import clip_scores, load_mini_clip
    from perfusion.reward import PerFusionRM
    from perfusion.train_rm import encode_groups

    clip, proc = load_mini_clip()
    groups = build_world("industrial", n_groups=4, seed=0, progress=False)[0]
    vocab = FeatureVocab.fit(groups)
    install_head()
    rm = PerFusionRM.from_backbone(clip, vocab)
    b = encode_groups(list(groups), proc, vocab)
    with torch.no_grad():
        want = clip_scores(clip, b["input_ids"], b["pixel_values"].flatten(0, 1), b["pixel_values"].shape[1],
                           b["attention_mask"])
        got = rm(b["input_ids"], b["pixel_values"], b["feature_ids"], b["attention_mask"])
    assert torch.equal(got, want), (got - want).abs().max()
    rm(b["input_ids"], b["pixel_values"], b["feature_ids"], b["attention_mask"]).sum().backward()
    assert rm.plugins.head.proj.weight.grad.abs().sum() > 0
    print("zero-initialised head: scores equal the backbone's bit for bit; the head receives gradients")


if __name__ == "__main__":
    check()
