"""Small synthetic datasets for tests."""
import torch


def bars(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Three classes told apart by where a brighter bar lies on noise: a task a tiny network learns in seconds and
    that small perturbations can still attack (uint8 N×1×28×28 images, int64 labels)."""
    g = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, 3, (n,), generator=g)
    images = torch.randint(0, 80, (n, 1, 28, 28), generator=g, dtype=torch.uint8)
    for i, c in enumerate(labels.tolist()):
        images[i, 0, 4 + 7 * c: 10 + 7 * c, 4:24] += 80
    return images, labels
