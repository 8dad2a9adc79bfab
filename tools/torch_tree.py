"""Describes the LibTorch inside a Python's torch package (PyPI's wheel) for meson.

  python3 tools/torch_tree.py VIEW_DIR

Prints one `key=value` per line: the torch package's directory, its version, whether it has
CUDA, and the include directories of its nvidia-* wheels (CUDA runtime, NCCL, cuDNN headers).

The wheel bundles fmt 12 headers in torch/include, ahead of Debian's fmt 9 that spdlog is built
against; VIEW_DIR gets a symlink to every entry of torch/include except fmt/, and the build
includes the view. No header of LibTorch's C++ API that the project includes uses fmt.
"""
import glob
import os
import sys

import torch

if not torch.compiled_with_cxx11_abi():
    sys.exit(f"torch {torch.__version__} at {torch.__file__} uses the pre-C++11 string ABI; "
             "the project's other libraries (Debian's) use the C++11 one: use torch >= 2.7")
view = sys.argv[1]
package = os.path.dirname(torch.__file__)
include = os.path.join(package, "include")
os.makedirs(view, exist_ok=True)
for name in os.listdir(include):
    link = os.path.join(view, name)
    if name == "fmt" or os.path.lexists(link):
        continue
    os.symlink(os.path.join(include, name), link)
site = os.path.dirname(package)
nvidia = sorted(glob.glob(os.path.join(site, "nvidia", "*", "include")))
print("prefix=" + package)
print("version=" + torch.__version__.split("+")[0])
print("cuda=" + ("yes" if torch.version.cuda else "no"))
print("nvidia_include=" + ",".join(nvidia))
