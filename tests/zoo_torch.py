import torch

_scale = torch.nn.Parameter(torch.ones(()))

def torch_linear(P, T, w):
    """Linear pool in float32 torch (inputs are numpy: converted here), returning a grad-tracking tensor."""
    P, T, w = (torch.tensor(a, dtype=torch.float32) for a in (P, T, w))
    Q = torch.softmax(torch.log(P) / T[:, None] * _scale, dim=-1)
    return (w[:, None] * Q).sum(0)
