# Tensor-only machine learning without nn: k-means clustering with
# torch.cdist, argmin and index_add_/bincount for the centroid update, a
# k-nearest-neighbour classifier with cdist + topk(largest=False) + mode,
# pairwise cosine similarity through F.normalize and mm, and PCA through
# torch.linalg.svd / torch.pca_lowrank-style centring. Points and starting
# centroids come from formulas, so every number is compared with PyTorch's.
# compat: exact-all 1e-4 1e-5
# compat: expect kmeans_converged == True
# compat: expect knn_accuracy >= 0.9
import neuronet as torch
import neuronet.nn.functional as F


def csv(t):
    return ",".join(str(v) for v in t.flatten().tolist())


# three blobs laid out from formulas
k = torch.arange(90, dtype=torch.float32)
centers_true = torch.tensor([[0.0, 0.0], [4.0, 1.0], [1.0, 5.0]])
labels = (torch.arange(90) % 3)
points = centers_true[labels] + 0.6 * torch.stack([torch.sin(k * 1.7), torch.cos(k * 2.3)], dim=1)

# --- k-means
centroids = points[[0, 1, 2]].clone()
for it in range(20):
    dists = torch.cdist(points, centroids)          # (N, K)
    assign = dists.argmin(dim=1)
    sums = torch.zeros_like(centroids).index_add_(0, assign, points)
    counts = torch.bincount(assign, minlength=3).clamp(min=1).unsqueeze(1).float()
    new = sums / counts
    shift = (new - centroids).norm(dim=1).max().item()
    centroids = new
    if shift < 1e-6:
        break
print("RESULT kmeans_iterations", it)
print("RESULT kmeans_converged", shift < 1e-6)
order = centroids[:, 0].argsort()
print("RESULT centroids", csv(centroids[order]))
inertia = (torch.cdist(points, centroids).min(dim=1).values ** 2).sum()
print("RESULT inertia", inertia.item())
print("RESULT cdist_p1", csv(torch.cdist(points[:2], centroids, p=1)))

# --- k-nearest neighbours
train_x, train_y = points[:60], labels[:60]
test_x, test_y = points[60:], labels[60:]
d = torch.cdist(test_x, train_x)
nn_dist, nn_idx = d.topk(5, dim=1, largest=False)
votes = train_y[nn_idx]
pred = votes.mode(dim=1).values
print("RESULT knn_first_neighbours", csv(nn_idx[:2]))
print("RESULT knn_accuracy", (pred == test_y).float().mean().item())

# --- cosine similarity matrix
z = F.normalize(points[:5], dim=1)
sim = z @ z.t()
print("RESULT cosine_row0", csv(sim[0]))
print("RESULT cosine_matches_functional",
      bool(torch.allclose(sim[0, 1], F.cosine_similarity(points[0:1], points[1:2]).squeeze(), atol=1e-6)))

# --- PCA by SVD of the centred data
X = torch.cat([points, torch.sin(points[:, :1] * points[:, 1:])], dim=1)   # (N, 3)
Xc = X - X.mean(dim=0, keepdim=True)
U, S, Vh = torch.linalg.svd(Xc, full_matrices=False)
print("RESULT singular_values", csv(S))
explained = (S ** 2) / (S ** 2).sum()
print("RESULT explained_ratio", csv(explained))
proj = Xc @ Vh[:2].t()
print("RESULT projected_var", csv(proj.var(dim=0)))
