import torch

_scale = torch.nn.Parameter(torch.ones(()))

def torch_linear(P, T, w):
    """Linear pool in float32 torch (inputs are numpy: converted here), returning a grad-tracking tensor."""
    P, T, w = (torch.tensor(a, dtype=torch.float32) for a in (P, T, w))
    Q = torch.softmax(torch.log(P) / T[:, None] * _scale, dim=-1)
    return (w[:, None] * Q).sum(0)


def torch_linear_as_tensor(P, T, w):
    """The linear pool in float64 torch written with as_tensor (no copy): torch.func.vmap can batch it."""
    P, T, w = (torch.as_tensor(a) for a in (P, T, w))
    Q = torch.softmax(torch.log(P) / T[:, None], dim=-1)
    return (w[:, None] * Q).sum(0)


def torch_path_under_vmap(P, T, w):
    """The linear pool, except that under vmap its code takes another path (a geometric pool)."""
    P, T, w = (torch.as_tensor(a) for a in (P, T, w))
    logQ = torch.log_softmax(torch.log(P) / T[:, None], dim=-1)
    if torch._C._functorch.is_batchedtensor(P):
        return torch.softmax((w[:, None] * logQ).sum(0), dim=-1)
    return (w[:, None] * logQ.exp()).sum(0)
