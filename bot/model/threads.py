"""numpy's BLAS thread pool, pinned: the sampler multiplies small matrices (batch x 128 by
128 x 512), where extra BLAS threads cost more in hand-offs than they gain, and on a busy host
(a shared dyno, a CI box) they wait for cores and make every step slower (bench/threads.py)."""
from __future__ import annotations

_limiter = None  # kept alive: the limits hold until restore() or the process ends


def limit_blas(threads: int) -> None:
    """Pin every BLAS library numpy loaded (OpenBLAS, MKL, BLIS) to `threads` threads, process-wide."""
    global _limiter
    import numpy  # noqa: F401  (threadpoolctl sees only libraries already loaded)
    from threadpoolctl import threadpool_limits

    _limiter = threadpool_limits(limits=threads, user_api="blas")


def blas_threads() -> list[int]:
    """The thread count of each BLAS library loaded, for logs and tests."""
    from threadpoolctl import threadpool_info

    return [lib["num_threads"] for lib in threadpool_info() if lib.get("user_api") == "blas"]
