#!/usr/bin/env python3
"""Exports the model of recipes/torchscript.toml: a PyTorch MLP written in Python, scripted with
torch.jit.script and saved with torch.jit.save, which fabric-exp then trains in C++.

    python3 recipes/torchscript_export.py [OUT]    (default: recipes/torchscript_mlp.pt)
"""
import os
import sys

import torch
from torch import nn


class Mlp(nn.Module):
    def __init__(self, features: int = 32, hidden: int = 64, classes: int = 4):
        super().__init__()
        self.fc1 = nn.Linear(features, hidden)
        self.norm = nn.LayerNorm(hidden)
        self.fc2 = nn.Linear(hidden, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(torch.relu(self.norm(self.fc1(x.flatten(1)))))


def main() -> None:
    here = os.path.dirname(os.path.abspath(__file__))
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "torchscript_mlp.pt")
    torch.manual_seed(0)
    torch.jit.save(torch.jit.script(Mlp()), out)
    print(out)


if __name__ == "__main__":
    main()
