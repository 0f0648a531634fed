"""The PyTorch reference of issue 24, run on the GPU machine beside the project's own benches.

The paper's network as the project's `paper` preset defines it (src/config.ts): 227x227 input,
conv1 96@11x11/4, conv2 256@5x5 pad 2 in two groups, conv3 384@3x3, conv4 384@3x3 in two groups,
conv5 256@3x3 in two groups, LRN after conv1 and conv2 (n 5, alpha 1e-4, beta 0.75, k 2: PyTorch's
LocalResponseNorm divides alpha by n, so it is given alpha x n), overlapping 3/2 max pools after
conv1, conv2 and conv5, fc6 and fc7 of 4096 with dropout 0.5, fc8 of 1000. Measured on random data
already on the GPU (what the GPU can do, not the data pipeline):

- a training step (forward, cross-entropy, backward, SGD with momentum 0.9 and weight decay 5e-4)
  at batch 128, in fp32 (TF32 off) and with TF32 matmuls and convolutions on;
- ten-crop inference: each 256x256 image's ten 227x227 crops (four corners and centre, and their
  mirrors: the paper's test procedure), the softmax averaged, in batches of 64 images, fp32.

Prints one JSON object per measurement: {"what", "images_per_s", "ms_per_batch", "batch"}.
Usage: python3 bench/device/torch_reference.py [--seconds 10]
"""
import argparse
import json
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class AlexNet(nn.Module):
    def __init__(self, classes=1000):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 96, 11, stride=4)
        self.conv2 = nn.Conv2d(96, 256, 5, padding=2, groups=2)
        self.conv3 = nn.Conv2d(256, 384, 3, padding=1)
        self.conv4 = nn.Conv2d(384, 384, 3, padding=1, groups=2)
        self.conv5 = nn.Conv2d(384, 256, 3, padding=1, groups=2)
        self.lrn = nn.LocalResponseNorm(5, alpha=1e-4 * 5, beta=0.75, k=2.0)
        self.fc6 = nn.Linear(256 * 6 * 6, 4096)
        self.fc7 = nn.Linear(4096, 4096)
        self.fc8 = nn.Linear(4096, classes)

    def forward(self, x):
        pool = lambda t: F.max_pool2d(t, 3, 2)
        x = pool(self.lrn(F.relu(self.conv1(x))))
        x = pool(self.lrn(F.relu(self.conv2(x))))
        x = F.relu(self.conv3(x))
        x = F.relu(self.conv4(x))
        x = pool(F.relu(self.conv5(x)))
        x = torch.flatten(x, 1)
        x = F.dropout(F.relu(self.fc6(x)), 0.5, self.training)
        x = F.dropout(F.relu(self.fc7(x)), 0.5, self.training)
        return self.fc8(x)


def timed(step, seconds, batch, what):
    for _ in range(3):
        step()
    torch.cuda.synchronize()
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        step()
        n += 1
        if n % 10 == 0:
            torch.cuda.synchronize()
    torch.cuda.synchronize()
    dt = time.perf_counter() - t0
    print(json.dumps({"what": what, "images_per_s": round(n * batch / dt, 1), "ms_per_batch": round(1000 * dt / n, 3), "batch": batch}), flush=True)


def ten_crops(images):
    """The paper's ten 227x227 crops of 256x256 images: corners, centre, and their mirrors."""
    s, c = 256, 227
    at = [(0, 0), (0, s - c), (s - c, 0), (s - c, s - c), ((s - c) // 2, (s - c) // 2)]
    crops = [images[:, :, y:y + c, x:x + c] for y, x in at]
    crops += [torch.flip(t, dims=[3]) for t in crops]
    return torch.cat(crops, 0)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--seconds", type=float, default=10)
    a = p.parse_args()
    dev = torch.device("cuda")
    # cuDNN picks its fastest algorithm per shape: the strongest baseline, so the ratios are not flattered.
    torch.backends.cudnn.benchmark = True
    print(json.dumps({"what": "device", "name": torch.cuda.get_device_name(0), "torch": torch.__version__}), flush=True)
    model = AlexNet().to(dev)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
    x = torch.randn(128, 3, 227, 227, device=dev) * 60
    y = torch.randint(0, 1000, (128,), device=dev)

    def train_step():
        opt.zero_grad(set_to_none=True)
        F.cross_entropy(model(x), y).backward()
        opt.step()

    model.train()
    for tf32 in (False, True):
        torch.backends.cuda.matmul.allow_tf32 = tf32
        torch.backends.cudnn.allow_tf32 = tf32
        timed(train_step, a.seconds, 128, f"train step, batch 128, {'TF32' if tf32 else 'fp32'}")

    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    model.eval()
    images = torch.randn(64, 3, 256, 256, device=dev) * 60

    @torch.no_grad()
    def infer():
        p = F.softmax(model(ten_crops(images)), dim=1)
        return p.view(10, 64, -1).mean(0)

    timed(infer, a.seconds, 64, "ten-crop inference, batch 64 images (640 crops), fp32")


if __name__ == "__main__":
    main()
