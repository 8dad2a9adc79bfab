"""The loop of parity_train.cpp on Lightning Fabric, line for line (see that file).

  python parity_train.py DEVICES PRECISION ACCUMULATE SHUFFLE STEPS [SAVE_AT SAVE_PATH LOAD] OUT
"""
import sys

import torch
from lightning.fabric import Fabric, seed_everything
from torch.utils.data import DataLoader, TensorDataset


def main(argv):
    devices, precision, accumulate, shuffle, steps = argv[:5]
    accumulate, steps, shuffle, out = int(accumulate), int(steps), shuffle == "1", argv[-1]
    save_at, save_path, load_path = (int(argv[5]), argv[6], argv[7]) if len(argv) == 9 else (0, "", "-")
    fabric = Fabric(accelerator="cpu", devices=int(devices),
                    strategy="auto" if devices == "1" else "ddp", precision=precision)
    fabric.launch()
    seed_everything(1234, verbose=False)
    x = torch.randn(256, 20)
    y = (x @ torch.randn(20, 5)).argmax(1)
    net = torch.nn.Sequential(torch.nn.Linear(20, 64), torch.nn.Tanh(), torch.nn.Linear(64, 5))
    adam = torch.optim.Adam(net.parameters(), lr=1e-2)
    model, optimizer = fabric.setup(net, adam)
    batches = fabric.setup_dataloaders(DataLoader(TensorDataset(x, y), batch_size=16, shuffle=shuffle))

    state = {"model": model, "optimizer": optimizer, "step": 0}
    if load_path != "-":
        fabric.load(load_path, state)
    step = state["step"]
    skip = step * accumulate
    micro = 0
    with open(f"{out}.rank{fabric.global_rank}", "w") as f:
        while step < steps:
            for data, target in batches:
                if skip > 0:
                    skip -= 1
                    continue
                accumulating = (micro + 1) % accumulate != 0
                with fabric.no_backward_sync(model, enabled=accumulating):
                    loss = torch.nn.functional.cross_entropy(model(data), target)
                    fabric.backward(loss / accumulate)
                    f.write("%d %.9g\n" % (step, loss.item()))
                micro += 1
                if accumulating:
                    continue
                optimizer.step()
                optimizer.zero_grad()
                step += 1
                if step == save_at:
                    fabric.save(save_path, {"model": model, "optimizer": optimizer, "step": step})
                if step == steps:
                    break


if __name__ == "__main__":
    main(sys.argv[1:])
