"""PyTorch side of the step benchmark (src/step-bench.ts): the same SphereFace nets (Caffe padding, PReLU, residual
units, FC 512) and an A-Softmax (m=4) head with λ annealing, SGD momentum 0.9 / weight decay 5e-4. One JSON line per
config on stdout. A config's "width" (default 1) multiplies the channels (createModel's widthMultiplier); "device"
(default "cpu") may name a CUDA device (bench-webgpu.ts); each timed step ends with loss.item(), which waits for the GPU.

    /usr/bin/python3 bench_step_torch.py '{"configs":[{"model":"sphereface4","size":[112,96]}],"batch":32,...}'

With "mode": "embed", the LFW embedding benchmark (step-bench.ts's timeTorchEmbedding) instead: "images" synthetic
crops (step-bench.ts's syntheticCrops: 64 distinct images repeated, uint8), embedded as an experiment run embeds
LFW: eval() and no_grad, batches of "batch", each normalised (v - 127.5)/128, the batch and its horizontal mirror
through the net, the two features concatenated into an [images, 1024] output; "embed_s" is one pass after "warmup"
passes over one batch.

    /usr/bin/python3 bench_step_torch.py '{"mode":"embed","configs":[...],"images":7701,"batch":32,"warmup":1,"threads":2}'
"""
import json
import math
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

UNITS = {"sphereface4": [0, 0, 0, 0], "sphereface20": [1, 2, 4, 1]}
CHANNELS = [64, 128, 256, 512]


class Residual(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(c, c, 3, 1, 1), nn.PReLU(c, 0.25), nn.Conv2d(c, c, 3, 1, 1), nn.PReLU(c, 0.25))

    def forward(self, x):
        return x + self.body(x)


def sphereface(model, size, width=1.0):
    layers, cin, h, w = [], 3, size[0], size[1]
    # Channels × width rounded half up and at least 1, as createModel's widthMultiplier does.
    for c, units in zip([max(1, int(c * width + 0.5)) for c in CHANNELS], UNITS[model]):
        layers += [nn.Conv2d(cin, c, 3, 2, 1), nn.PReLU(c, 0.25)] + [Residual(c) for _ in range(units)]
        cin, h, w = c, (h - 1) // 2 + 1, (w - 1) // 2 + 1
    return nn.Sequential(*layers, nn.Flatten(), nn.Linear(cin * h * w, 512))


class ASoftmax(nn.Module):
    """m = 4, λ = max(5, 1000/(1+0.12·it)); ψ = (−1)^k cos(4θ) − 2k with k from a detached θ (exact autograd)."""

    def __init__(self, dim, classes):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(dim, classes))
        nn.init.xavier_uniform_(self.weight)
        self.it = 0

    def forward(self, x, y):
        self.it += 1
        lam = max(5.0, 1000.0 / (1 + 0.12 * self.it))
        w = F.normalize(self.weight, dim=0)
        xnorm = x.norm(dim=1, keepdim=True)
        cos = (x @ w) / xnorm.clamp_min(1e-12)
        cos_t = cos.gather(1, y[:, None]).clamp(-1, 1)
        k = torch.floor(4 * torch.acos(cos_t.detach()) / math.pi)
        cos4 = 8 * cos_t**4 - 8 * cos_t**2 + 1
        psi = (-1) ** k * cos4 - 2 * k
        logits = xnorm * cos
        target = (lam * xnorm * cos_t + xnorm * psi) / (1 + lam)
        logits = logits.scatter(1, y[:, None], target)
        return F.cross_entropy(logits, y)


def synthetic_crops(count, h, w):
    """uint8 [count, 3, h, w]: step-bench.ts's syntheticCrops (64 distinct HWC images of round(127.5 + 127.5 sin(0.37 i)), repeated)."""
    distinct = min(count, 64)
    i = torch.arange(distinct * h * w * 3, dtype=torch.float64)
    pattern = torch.round(127.5 + 127.5 * torch.sin(i * 0.37)).to(torch.uint8).reshape(distinct, h, w, 3).permute(0, 3, 1, 2)
    return pattern.repeat((count + distinct - 1) // distinct, 1, 1, 1)[:count].contiguous()


def embed(net, crops, batch, device):
    """[N, 1024]: per batch, concat(f(x), f(mirrored x)) with x = (crops - 127.5) / 128, as extractEmbeddings' 'concat'."""
    out = torch.empty(crops.shape[0], 1024, device=device)
    with torch.no_grad():
        for s in range(0, crops.shape[0], batch):
            x = crops[s : s + batch].to(device).float().sub_(127.5).div_(128)
            out[s : s + batch] = torch.cat([net(x), net(torch.flip(x, [3]))], 1)
    return out.cpu()


def embed_main(spec, device, name, blas):
    for c in spec["configs"]:
        h, w = c["size"]
        net = sphereface(c["model"], c["size"], c.get("width", 1.0)).to(device).eval()
        crops = synthetic_crops(spec["images"], h, w)
        for _ in range(spec["warmup"]):
            embed(net, crops[: spec["batch"]], spec["batch"], device)
        t0 = time.perf_counter()
        embed(net, crops, spec["batch"], device)
        seconds = time.perf_counter() - t0
        print(json.dumps({"model": c["model"], "size": f"{h}x{w}", "embed_s": seconds, "images": spec["images"], "torch": torch.__version__, "blas": blas, "device": name}), flush=True)


def main():
    spec = json.loads(sys.argv[1])
    torch.set_num_threads(spec["threads"])
    torch.manual_seed(0)
    device = torch.device(spec.get("device", "cpu"))
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    torch.ones(64, 64) @ torch.ones(64, 64)  # loads libblas.so.3 (Debian's alternative: OpenBLAS or reference)
    with open("/proc/self/maps") as maps:
        blas = "OpenBLAS" if "openblas" in maps.read() else "reference BLAS"
    if spec.get("mode") == "embed":
        return embed_main(spec, device, name, blas)
    for c in spec["configs"]:
        h, w = c["size"]
        net, head = sphereface(c["model"], c["size"], c.get("width", 1.0)).to(device), ASoftmax(512, spec["classes"]).to(device)
        opt = torch.optim.SGD(list(net.parameters()) + list(head.parameters()), lr=0.1, momentum=0.9, weight_decay=5e-4)
        x = torch.sin(torch.arange(spec["batch"] * 3 * h * w, dtype=torch.float32) * 0.37).reshape(spec["batch"], 3, h, w).to(device)
        y = (torch.arange(spec["batch"]) % spec["classes"]).to(device)
        times = []
        for i in range(spec["warmup"] + spec["steps"]):
            t0 = time.perf_counter()
            opt.zero_grad()
            loss = head(net(x), y)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(list(net.parameters()) + list(head.parameters()), 3.0)
            opt.step()
            loss.item()
            if i >= spec["warmup"]:
                times.append(time.perf_counter() - t0)
        print(json.dumps({"model": c["model"], "size": f"{h}x{w}", "step_s": statistics.median(times), "times": times, "torch": torch.__version__, "blas": blas, "device": name}), flush=True)


if __name__ == "__main__":
    main()
