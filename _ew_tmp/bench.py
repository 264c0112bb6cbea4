import sys, timeit, numpy as np
import refgrad as lib
data = np.random.default_rng(0).standard_normal(16).astype(np.float32)
x = lib.tensor(data, requires_grad=True)
cot = lib.tensor(np.random.default_rng(1).standard_normal(16).astype(np.float32))
def step():
    x.grad = None
    y = x
    for _ in range(50):
        y = y * 0.99; y = y.sin(); y = y + 0.1; y = y.tanh()
    y.backward(cot)
print(sys.argv[1], min(timeit.repeat(step, number=5, repeat=80)) / 5 * 1e3, "ms")
