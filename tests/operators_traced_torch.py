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
