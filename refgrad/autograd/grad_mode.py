"""Grad mode: thread-local, like torch's. Context managers that also work as decorators."""
from __future__ import annotations

import functools
import inspect
import threading


class _State(threading.local):
    # ``enabled`` is what the ops read: record a graph? ``grad_mode`` is what is_grad_enabled()
    # reports. They differ only inside inference_mode, where enable_grad() turns grad mode on but
    # nothing is recorded (torch's inference tensors never get a grad_fn).
    enabled = True
    grad_mode = True
    inference = False
    anomaly = False
    anomaly_check_nan = True


state = _State()


def _save():
    return state.enabled, state.grad_mode, state.inference


def _restore(prev):
    state.enabled, state.grad_mode, state.inference = prev


def _set_grad_mode(mode: bool):
    state.grad_mode = mode
    state.enabled = mode and not state.inference


def is_grad_enabled() -> bool:
    return state.grad_mode


def is_inference_mode_enabled() -> bool:
    return state.inference


class _DecoratorContextManager:
    """Matches torch.autograd.grad_mode's decorator behaviour (plain and generator functions)."""

    def __call__(self, func):
        if isinstance(func, type):
            raise RuntimeError(f"{type(self).__name__} cannot decorate a class")
        if inspect.isgeneratorfunction(func):
            return self._wrap_generator(func)

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            with self.clone():
                return func(*args, **kwargs)

        return wrapper

    def _wrap_generator(self, func):
        # torch re-enters the mode around every step of the generator, not around its creation
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            gen = func(*args, **kwargs)
            try:
                with self.clone():
                    response = gen.send(None)
                while True:
                    try:
                        request = yield response
                    except GeneratorExit:
                        with self.clone():
                            gen.close()
                        raise
                    except BaseException as e:  # noqa: BLE001 - forwarded into the generator
                        with self.clone():
                            response = gen.throw(e)
                    else:
                        with self.clone():
                            response = gen.send(request)
            except StopIteration as e:
                return e.value

        return wrapper

    def clone(self):
        return type(self)()


class no_grad(_DecoratorContextManager):
    """Matches `torch.no_grad` (also usable as ``@no_grad`` without parentheses)."""

    def __new__(cls, orig_func=None):
        if orig_func is None:
            return super().__new__(cls)
        return cls()(orig_func)

    def __init__(self, orig_func=None):
        pass

    def __enter__(self):
        self.prev = _save()
        _set_grad_mode(False)

    def __exit__(self, *exc):
        _restore(self.prev)


class enable_grad(_DecoratorContextManager):
    """Matches `torch.enable_grad` (inside inference_mode it turns grad mode on but records nothing)."""

    def __new__(cls, orig_func=None):
        if orig_func is None:
            return super().__new__(cls)
        return cls()(orig_func)

    def __init__(self, orig_func=None):
        pass

    def __enter__(self):
        self.prev = _save()
        _set_grad_mode(True)

    def __exit__(self, *exc):
        _restore(self.prev)


class set_grad_enabled(_DecoratorContextManager):
    """Matches `torch.set_grad_enabled`: takes effect at construction (so it also works as a plain
    function call), restores the previous mode on exit."""

    def __init__(self, mode: bool):
        self.prev = _save()
        self.mode = bool(mode)
        _set_grad_mode(self.mode)

    def __call__(self, func):
        _restore(self.prev)  # used as a decorator: the mode applies inside calls only
        return super().__call__(func)

    def clone(self):
        return type(self)(self.mode)

    def __enter__(self):
        pass

    def __exit__(self, *exc):
        _restore(self.prev)


class inference_mode(_DecoratorContextManager):
    """Matches `torch.inference_mode`: no graph is recorded (refgrad has no separate inference
    tensors: tensors made inside behave as ones made under no_grad)."""

    def __new__(cls, mode=True):
        if callable(mode) and not isinstance(mode, bool):
            return cls(True)(mode)
        return super().__new__(cls)

    def __init__(self, mode: bool = True):
        self.mode = mode

    def clone(self):
        return type(self)(self.mode)

    def __enter__(self):
        self.prev = _save()
        if self.mode:
            state.inference = True
            _set_grad_mode(False)

    def __exit__(self, *exc):
        _restore(self.prev)
