# The loss functions training code reaches for, as modules and as
# functionals, with their usual options -- class weights, ignore_index and
# label smoothing for cross-entropy, pos_weight for BCE-with-logits, beta /
# delta for the robust regressions, batchmean KL divergence, margin and
# embedding losses -- and the custom losses people write on top of them:
# focal loss, knowledge distillation with temperature, an InfoNCE / NT-Xent
# contrastive loss, and mixup. Inputs are formulas; each loss value and the
# gradient it sends back are compared with PyTorch's.
# compat: exact-all 1e-5 1e-6
import neuronet as torch
import neuronet.nn as nn
import neuronet.nn.functional as F


def formula(*shape, phase=0.0, scale=1.0):
    n = 1
    for s in shape:
        n *= s
    return torch.sin(torch.arange(n, dtype=torch.float32) * 0.83 + phase).view(*shape) * scale


def report(name, make_loss, *inputs):
    """Print the loss and the gradient sum-of-squares of every input."""
    leaves = [x.detach().clone().requires_grad_(True) if x.is_floating_point() else x for x in inputs]
    loss = make_loss(*leaves)
    loss.backward()
    grads = [float((x.grad ** 2).sum()) for x in leaves if x.is_floating_point() and x.grad is not None]
    print(f"RESULT {name}", ",".join(str(v) for v in [loss.item()] + grads))


logits = formula(6, 4, scale=2.0)
target = torch.tensor([0, 3, 1, 2, 3, 0])
probs_target = formula(6, 4, phase=1.0).softmax(dim=1)
report("ce", nn.CrossEntropyLoss(), logits, target)
report("ce_weighted", nn.CrossEntropyLoss(weight=torch.tensor([1.0, 2.0, 0.5, 1.5])), logits, target)
report("ce_ignore", nn.CrossEntropyLoss(ignore_index=3), logits, target)
report("ce_smooth", nn.CrossEntropyLoss(label_smoothing=0.2), logits, target)
report("ce_soft_targets", nn.CrossEntropyLoss(), logits, probs_target)
report("ce_sum", lambda a, b: F.cross_entropy(a, b, reduction="sum"), logits, target)
report("ce_spatial", nn.CrossEntropyLoss(), formula(2, 4, 3, 3), torch.arange(18).view(2, 3, 3) % 4)
report("nll", nn.NLLLoss(), F.log_softmax(logits, dim=1), target)

p = torch.sigmoid(formula(8, phase=0.3, scale=3.0))
y = (torch.arange(8) % 2).float()
report("bce", nn.BCELoss(), p, y)
report("bce_logits", nn.BCEWithLogitsLoss(), formula(8, scale=3.0), y)
report("bce_logits_pos_weight", nn.BCEWithLogitsLoss(pos_weight=torch.tensor([3.0])), formula(8, 1, scale=3.0),
       y.view(8, 1))
report("multilabel_soft_margin", nn.MultiLabelSoftMarginLoss(), formula(4, 3), (torch.arange(12).view(4, 3) % 3 == 0).float())

pred, tgt = formula(10, scale=2.0), formula(10, phase=2.0)
report("mse", nn.MSELoss(), pred, tgt)
report("l1", nn.L1Loss(), pred, tgt)
report("smooth_l1", nn.SmoothL1Loss(beta=0.5), pred, tgt)
report("huber", nn.HuberLoss(delta=0.7), pred, tgt)
report("mse_none_mean", lambda a, b: F.mse_loss(a, b, reduction="none").mean(dim=0), pred, tgt)
report("gaussian_nll", nn.GaussianNLLLoss(), pred, tgt, formula(10, phase=1.0).abs() + 0.1)
report("poisson_nll", nn.PoissonNLLLoss(), pred, tgt.abs() * 3)

report("kl_batchmean", nn.KLDivLoss(reduction="batchmean"), F.log_softmax(logits, dim=1), probs_target)
report("kl_log_target", nn.KLDivLoss(reduction="batchmean", log_target=True), F.log_softmax(logits, dim=1),
       probs_target.log())

a, b, c = formula(5, 6), formula(5, 6, phase=1.0), formula(5, 6, phase=2.5)
sign = torch.tensor([1, -1, 1, -1, 1])
report("cosine_embedding", nn.CosineEmbeddingLoss(margin=0.1), a, b, sign)
report("margin_ranking", nn.MarginRankingLoss(margin=0.2), a[:, 0], b[:, 0], sign.float())
report("triplet", nn.TripletMarginLoss(margin=1.0, p=2), a, b, c)
report("hinge_embedding", nn.HingeEmbeddingLoss(margin=1.0), a[:, 1].abs(), sign.float())


def focal_loss(logits, target, gamma=2.0, alpha=0.25):
    ce = F.cross_entropy(logits, target, reduction="none")
    pt = torch.exp(-ce)
    return (alpha * (1 - pt) ** gamma * ce).mean()


def distillation_loss(student_logits, teacher_logits, labels, T=4.0, alpha=0.7):
    soft = F.kl_div(F.log_softmax(student_logits / T, dim=1), F.softmax(teacher_logits / T, dim=1),
                    reduction="batchmean") * (T * T)
    hard = F.cross_entropy(student_logits, labels)
    return alpha * soft + (1 - alpha) * hard


def nt_xent(z1, z2, tau=0.5):
    z = F.normalize(torch.cat([z1, z2], dim=0), dim=1)
    sim = z @ z.t() / tau
    n = z1.size(0)
    sim = sim.masked_fill(torch.eye(2 * n, dtype=torch.bool), float("-inf"))
    targets = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)])
    return F.cross_entropy(sim, targets)


def mixup_loss(x, y, model_w, lam=0.7):
    index = torch.tensor([2, 0, 3, 1, 5, 4])
    mixed = lam * x + (1 - lam) * x[index, :]
    out = mixed @ model_w
    return lam * F.cross_entropy(out, y) + (1 - lam) * F.cross_entropy(out, y[index])


report("focal", focal_loss, logits, target)
report("distillation", distillation_loss, logits, formula(6, 4, phase=0.5, scale=3.0), target)
report("nt_xent", nt_xent, formula(4, 8), formula(4, 8, phase=0.2))
report("mixup", mixup_loss, formula(6, 5), target, formula(5, 4, phase=0.7))
report("cosine_similarity_mean", lambda u, v: F.cosine_similarity(u, v, dim=1).mean(), a, b)
report("pairwise_distance_sum", lambda u, v: F.pairwise_distance(u, v).sum(), a, b)
