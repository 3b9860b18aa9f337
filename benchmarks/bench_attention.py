"""ak.TransformerEncoderInference (the C++ core) against PyTorch eager on the same weights.

A 6-layer encoder, d_model 256, 4 heads, feed-forward 1024, ReLU, post-norm (torch's
defaults otherwise), float32; batch 1 and batch 16 of 500 frames, on 1 and 2 threads
(affectkit ``num_threads``, ``torch.set_num_threads``). Anchors: ``torch.nn.TransformerEncoder``
in eval mode under ``torch.inference_mode`` (its fused fast path), and
``affectkit.nn.AttentionEncoder`` (scaled-dot-product attention, eval mode), both loaded
with the same state dict.

    python benchmarks/bench_attention.py [--repeats N] [--quick] [--no-write]
"""

from harness import arguments, compare, limit_threads, report

limit_threads(2)  # before numpy and torch are imported; each case sets its own count

import numpy as np  # noqa: E402
import torch  # noqa: E402

import affectkit as ak  # noqa: E402
from affectkit.nn import AttentionEncoder  # noqa: E402

D_MODEL, HEADS, LAYERS, FEEDFORWARD, FRAMES = 256, 4, 6, 1024, 500


def encoders():
    torch.manual_seed(0)
    layer = torch.nn.TransformerEncoderLayer(D_MODEL, HEADS, FEEDFORWARD, dropout=0.0, batch_first=True)
    reference = torch.nn.TransformerEncoder(layer, LAYERS, enable_nested_tensor=False).eval()
    module = AttentionEncoder(D_MODEL, HEADS, LAYERS, FEEDFORWARD, dropout=0.0, positional="none").eval()
    module.load_state_dict(reference.state_dict())
    core = ak.TransformerEncoderInference({k: v.numpy() for k, v in reference.state_dict().items()},
                                          num_heads=HEADS)
    return reference, module, core


def main():
    args = arguments(__doc__.split("\n\n")[0])
    reference, module, core = encoders()
    frames = 50 if args.quick else FRAMES
    results = []
    for threads in (1, 2):
        torch.set_num_threads(threads)
        for batch in (1, 16):
            x = torch.randn(batch, frames, D_MODEL, generator=torch.Generator().manual_seed(batch))
            features = x.numpy()
            with torch.inference_mode():
                expected = reference(x).numpy()
                error = max(np.abs(core(features, num_threads=threads)[0] - expected).max(),
                            np.abs(module(x)[0].numpy() - expected).max())
            assert error <= 1e-4, f"outputs differ by {error}"  # never time a wrong answer

            def torch_eager(x=x):
                with torch.inference_mode():
                    return reference(x)

            def torch_sdpa(x=x):
                with torch.inference_mode():
                    return module(x)

            results.append(compare(f"batch {batch} x {frames} frames, {threads} thread{'s' * (threads > 1)}", {
                "affectkit": lambda features=features, threads=threads: core(features, num_threads=threads),
                "torch.nn.TransformerEncoder": torch_eager,
                "affectkit.nn.AttentionEncoder (torch SDPA)": torch_sdpa,
            }, args.repeats))
    report("Transformer encoder inference", results, args,
           f"{LAYERS} layers, d_model {D_MODEL}, {HEADS} heads, feed-forward {FEEDFORWARD}, ReLU, post-norm, float32, "
           f"no padding. Outputs checked equal to torch's within 1e-4 first. The 2 cores are shared with other "
           "jobs, so the 2-thread rows are noisy.")


if __name__ == "__main__":
    main()
