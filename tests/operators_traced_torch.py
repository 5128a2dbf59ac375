"""The linear pool and a logit average written in PyTorch, without precise forms.

torch is imported inside the functions so that collecting this file (doctests) works without
torch; tests import torch first (``pytest.importorskip``), so the import here is instant.
"""

from __future__ import annotations


def linear_torch(P, T, w):
    import torch

    P, T, w = torch.as_tensor(P), torch.as_tensor(T), torch.as_tensor(w)
    Q = torch.softmax(torch.log(P) / T[:, None], dim=1)
    return (w @ Q).numpy()


def logit_average_torch(P, T, w):
    import torch

    P, T, w = torch.as_tensor(P), torch.as_tensor(T), torch.as_tensor(w)
    logQ = torch.log_softmax(torch.log(P) / T[:, None], dim=1)
    return torch.softmax(w @ logQ, dim=0).numpy()


# Spellings copied from typical distillation code: functional softmax, tensor methods, dtype casts.

def kd_linear_float32(P, T, w):
    import torch
    import torch.nn.functional as F

    P = torch.as_tensor(P, dtype=torch.float32)
    T = torch.as_tensor(T, dtype=torch.float32)
    w = torch.as_tensor(w, dtype=torch.float32)
    probs = F.softmax(torch.log(P) / T[:, None], dim=-1)
    return (w[:, None] * probs).sum(0)


def kd_confidence_weighted(P, T, w):
    import torch

    P, T, w = torch.as_tensor(P), torch.as_tensor(T), torch.as_tensor(w)
    Q = torch.softmax(torch.log(P) / T[:, None], dim=-1)
    c = w * Q.max(dim=-1).values
    return ((c / c.sum())[:, None] * Q).sum(0).clone().requires_grad_()


def kd_logit_mean_float16(P, T, w):
    import torch

    P = torch.as_tensor(P).half()
    T, w = torch.as_tensor(T).half(), torch.as_tensor(w).half()
    z = (w[:, None] * torch.log(P) / T[:, None]).sum(0)
    return torch.softmax(z.float(), dim=-1).half()
