#!/usr/bin/python3
"""An independent implementation of src/core/rng.cpp (splitmix64 seeding, xoshiro256**, streams,
uniform, Lemire integers, polar normals) in arbitrary-precision integers: the source of the
hard-coded values in test_rng.cpp. Run it to print them."""
M = (1 << 64) - 1
G = 0x9E3779B97F4A7C15
def mix64(x):
    x = (x + G) & M
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & M
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & M
    return x ^ (x >> 31)
def rotl(x, k): return ((x << k) | (x >> (64 - k))) & M
class Rng:
    def __init__(self, seed=0, state=None):
        if state: self.s = list(state); return
        x = seed; self.s = []
        for _ in range(4):
            x = (x + G) & M
            self.s.append(mix64(x))
    def next(self):
        s = self.s
        r = (rotl((s[1] * 5) & M, 7) * 9) & M
        t = (s[1] << 17) & M
        s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3]; s[2] ^= t; s[3] = rotl(s[3], 45)
        return r
    def uniform(self): return (self.next() >> 11) * 2.0**-53
    def uniform_int(self, lo, hi):
        n = hi - lo + 1
        m = self.next() * n; low = m & M
        if low < n:
            th = ((1 << 64) - n) % n
            while low < th:
                m = self.next() * n; low = m & M
        return lo + (m >> 64)
    def normal(self):
        import math
        while True:
            u = 2.0 * self.uniform() - 1.0; v = 2.0 * self.uniform() - 1.0; s = u*u + v*v
            if not (s >= 1.0 or s == 0.0): break
        return u * math.sqrt(-2.0 * math.log(s) / s)
def stream(seed, rank, purpose, index=0):
    h = mix64(seed)
    h = mix64(h ^ (((rank + 1) * 0xD1B54A32D192ED03) & M))
    h = mix64(h ^ ((purpose * 0xAEF17502108EF2D9) & M))
    h = mix64(h ^ (((index + 1) * 0xDB4F0B9175AE2165) & M))
    return Rng(h)
r = Rng(state=[1, 2, 3, 4]); print("state1234", [hex(r.next()) for _ in range(4)])
r = Rng(0); print("rng0", [hex(r.next()) for _ in range(3)])
r = stream(42, 0, 2, 0); print("stream", [hex(r.next()) for _ in range(3)])
r = stream(7, 3, 1, 5); print("dists", repr(r.uniform()), repr(r.normal()), r.uniform_int(-5, 17), r.uniform_int(0, 10**12))
print(hex(mix64(0)))
