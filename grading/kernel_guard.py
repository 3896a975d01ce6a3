"""The grader's guard inside a submission's kernel (this file's text is sent to the kernel; the grader never imports
it).

nbgrader runs the test cells in the student's own kernel, so whatever the student's code did to that kernel is still
there when the tests run. Before the first cell, :func:`install` takes a snapshot of what the tests rely on:
IPython's input and AST transformers and event callbacks, the builtins, the functions of numpy (and of the other
libraries the exercise's read-only cells import), the methods of the shell, the kernel and its session, and the
helpers the read-only cells define. It also wraps the exercise's *answer key*, the nnlib functions and classes a
learner is asked to write, so that a call from outside nnlib is counted.

The grader talks to the guard through a comm (``comm_open`` with target :data:`TARGET`), which does not pass through
the input transformers or the student's namespace:

- ``snapshot``: after a read-only cell ran, add what it imported and defined to the snapshot;
- ``check``: put back everything that differs from the snapshot and report it (``restored``), with the answer key's
  uses since the last check (``answer_key``).

A student who studies this code can still fool it from inside the kernel; the grader also checks, outside the
kernel, that an error raised on the normal execution path still comes back as an error (see
``grading.preprocessors``), and the hidden tests compare with values stored in the source notebook.
"""

TARGET = "nn_grader_guard"


def install(target, off_limits, watched_prefixes):
    import builtins
    import sys

    shell = get_ipython()  # noqa: F821 (the kernel's own)
    kernel = shell.kernel
    plain = (int, float, complex, str, bytes, bool, type(None))
    _MISSING = object()
    saved = {"modules": {}, "classes": {}, "objects": {}, "user": {}}
    hits = []

    def callable_entries(mapping):
        return {k: v for k, v in list(mapping.items()) if callable(v) or isinstance(v, (staticmethod, classmethod,
                                                                                           property))}

    def code_of(value):
        return getattr(value, "__code__", None)

    def keep_module(name, module):
        if name in saved["modules"] or module is None:
            return
        entries = callable_entries(vars(module))
        saved["modules"][name] = (module, entries, {k: (v, code_of(v), getattr(v, "__defaults__", None))
                                                    for k, v in entries.items() if code_of(v) is not None})
        for value in entries.values():
            if isinstance(value, type) and getattr(value, "__module__", None) == name:
                keep_class(value)

    def keep_class(cls):
        if cls in saved["classes"]:
            return
        try:
            entries = callable_entries(vars(cls))
        except TypeError:
            return
        saved["classes"][cls] = (entries, {k: code_of(v) for k, v in entries.items() if code_of(v) is not None})

    def keep_object(label, obj):
        if obj is None or label in saved["objects"]:
            return
        saved["objects"][label] = (obj, callable_entries(vars(obj)) if hasattr(obj, "__dict__") else {},
                                   dict(getattr(obj, "_trait_values", {})))
        for cls in type(obj).__mro__:
            keep_class(cls)

    def snapshot(names=()):
        """Add the modules imported so far, and the helpers ``names`` (defined by a read-only cell)."""
        for name, module in list(sys.modules.items()):
            if name.split(".")[0] in watched_prefixes:
                keep_module(name, module)
        for name in names:
            value = shell.user_ns.get(name, _MISSING)
            if callable(value) or type(value) is type(sys):
                saved["user"][name] = value

    # ---- the answer key: counted when called from outside nnlib ----------------------------------------------
    # Each function of the answer key (and each method of an answer-key class) keeps its identity but gets the code
    # of a trampoline that counts the call and runs a copy of the original: a reference taken at any time goes
    # through it. A module of the answer key that is not imported yet is wrapped when it is (an import hook), so
    # the guard never imports scikit-learn for nothing.
    import inspect
    import os
    import types

    library_dirs = []
    table = []

    def from_outside(depth):
        frame = sys._getframe(depth)
        return not any(frame.f_code.co_filename.startswith(d) for d in library_dirs)

    def dispatch(index, args, kwargs):
        name, implementation = table[index]
        if from_outside(3):
            hits.append(name)
        return implementation(*args, **kwargs)

    def trap(name, function):
        if not isinstance(function, types.FunctionType) or function.__code__.co_freevars:
            return
        copy = types.FunctionType(function.__code__, function.__globals__, function.__name__,
                                  function.__defaults__, function.__closure__)
        copy.__kwdefaults__, copy.__qualname__ = function.__kwdefaults__, function.__qualname__
        table.append((name, copy))
        try:
            function.__signature__ = inspect.signature(copy)  # what scikit-learn reads of an estimator's __init__
        except (TypeError, ValueError):
            pass
        namespace = {}
        exec(compile(f"def trampoline(*args, **kwargs):\n    return __nn_answer_key__({len(table) - 1}, args, kwargs)\n",
                     "<grader>", "exec"), namespace)
        function.__globals__["__nn_answer_key__"] = dispatch
        function.__code__, function.__defaults__, function.__kwdefaults__ = namespace["trampoline"].__code__, None, None

    def wrap(module_name):
        module = sys.modules.get(module_name)
        if module is None:
            return
        library_dirs.append(os.path.dirname(module.__file__) + os.sep)
        for dotted in off_limits:
            owner, _, attribute = dotted.rpartition(".")
            target_obj = getattr(module, attribute, None) if owner == module_name else None
            if isinstance(target_obj, type):
                for key, value in list(vars(target_obj).items()):
                    if not key.startswith("_") or key == "__init__":
                        trap(dotted, value)
            elif target_obj is not None:
                trap(dotted, target_obj)

    pending = {dotted.rpartition(".")[0] for dotted in off_limits}

    class AnswerKeyHook:
        """Wraps a module of the answer key right after it is imported."""

        def find_spec(self, fullname, path=None, target=None):
            if fullname not in pending:
                return None
            for finder in sys.meta_path:
                if finder is self or not hasattr(finder, "find_spec"):
                    continue
                spec = finder.find_spec(fullname, path, target)
                if spec is not None:
                    break
            else:
                return None
            loader = spec.loader
            original = loader.exec_module

            def exec_module(module):
                original(module)
                pending.discard(fullname)
                wrap(fullname)

            spec.loader = LoaderProxy(loader, exec_module)
            return spec

    class LoaderProxy:
        def __init__(self, loader, exec_module):
            self._loader, self.exec_module = loader, exec_module

        def __getattr__(self, name):
            return getattr(self._loader, name)

    for module_name in sorted(pending):
        if module_name in sys.modules:
            pending.discard(module_name)
            wrap(module_name)
    if pending:
        sys.meta_path.insert(0, AnswerKeyHook())

    # ---- the snapshot (taken in the first comm call, outside any cell: IPython swaps some hooks while a cell runs)
    def take_baseline():
        saved["builtins"] = dict(vars(builtins))
        saved["sys"] = {k: getattr(sys, k) for k in ("modules", "displayhook", "excepthook", "meta_path", "path_hooks")}
        saved["sys_lists"] = {k: list(getattr(sys, k)) for k in ("meta_path", "path_hooks")}
        manager = shell.input_transformer_manager
        saved["transformers"] = {
            "manager": manager,
            "lists": [(obj, attr, list(getattr(obj, attr))) for obj, attr in (
                (manager, "cleanup_transforms"), (manager, "line_transforms"), (manager, "token_transformers"),
                (shell, "input_transformers_post"), (shell, "ast_transformers"))],
        }
        saved["events"] = (shell.events, {event: list(callbacks)
                                          for event, callbacks in shell.events.callbacks.items()})
        for label, obj in (("shell", shell), ("kernel", kernel), ("session", kernel.session),
                           ("compile", shell.compile), ("displayhook", shell.displayhook),
                           ("display_pub", shell.display_pub), ("comm_manager", kernel.comm_manager),
                           ("transformer_manager", manager), ("events", shell.events),
                           ("iopub", getattr(kernel, "iopub_socket", None))):
            keep_object(label, obj)
        saved["compile_flags"] = shell.compile.flags
        import numpy  # noqa: F401 (every exercise uses numpy: take it as it is before any student code)

        snapshot()
        saved["ready"] = True

    # ---- the check ---------------------------------------------------------------------------------------------
    def restore_mapping(label, target_obj, entries, found, setter=setattr):
        for key, value in entries.items():
            try:
                current = target_obj[key] if isinstance(target_obj, dict) else target_obj.__dict__.get(key, _MISSING)
            except KeyError:
                current = _MISSING
            if current is not value:
                found.append(f"{label}.{key}")
                try:
                    setter(target_obj, key, value)
                except (TypeError, AttributeError):
                    pass

    def check():
        found = []
        if sys.modules is not saved["sys"]["modules"]:
            sys.modules = saved["sys"]["modules"]
            found.append("sys.modules")
        for key in ("displayhook", "excepthook"):
            if getattr(sys, key) is not saved["sys"][key]:
                found.append(f"sys.{key}")
                setattr(sys, key, saved["sys"][key])
        for key, items in saved["sys_lists"].items():
            if getattr(sys, key) != items:
                found.append(f"sys.{key}")
                getattr(sys, key)[:] = items
        current = vars(builtins)
        for key, value in saved["builtins"].items():
            if current.get(key, _MISSING) is not value:
                found.append(f"builtins.{key}")
                current[key] = value
        if shell.input_transformer_manager is not saved["transformers"]["manager"]:
            found.append("input transformer manager")
            shell.input_transformer_manager = saved["transformers"]["manager"]
        for obj, attr, items in saved["transformers"]["lists"]:
            if getattr(obj, attr) != items:
                found.append(f"IPython {attr}")
                setattr(obj, attr, list(items))
        events, callbacks = saved["events"]
        if shell.events is not events:
            found.append("IPython events")
            shell.events = events
        for event, items in callbacks.items():
            now = events.callbacks.get(event)
            if now != items:
                added = [cb for cb in now if not any(cb is item for item in items)] if isinstance(now, list) else []
                kept = [cb for cb in now if not any(cb is extra for extra in added)] if isinstance(now, list) else []
                if kept == items and added and all(plotting_callback(cb) for cb in added):
                    parked.setdefault(event, []).extend(added)  # off while the test runs, back after it
                else:
                    found.append(f"IPython event {event}")
                events.callbacks[event] = list(items)
        if shell.compile.flags != saved["compile_flags"]:
            found.append("compiler flags")
            shell.compile.flags = saved["compile_flags"]
        for label, (obj, entries, traits) in saved["objects"].items():
            now = obj.__dict__ if hasattr(obj, "__dict__") else {}
            for key in [k for k, v in list(now.items()) if callable(v) and k not in entries
                        and hasattr(type(obj), k)]:
                found.append(f"{label}.{key}")
                del now[key]
            restore_mapping(label, obj, entries, found)
            trait_values = getattr(obj, "_trait_values", None)
            if trait_values is not None:
                for key, value in traits.items():
                    if not isinstance(value, plain) and trait_values.get(key, _MISSING) is not value \
                            and (callable(value) or key in ("compile", "display_pub", "displayhook", "kernel",
                                                             "session", "shell", "input_transformer_manager")):
                        found.append(f"{label}.{key}")
                        trait_values[key] = value
        for cls, (entries, codes) in saved["classes"].items():
            restore_mapping(cls.__qualname__, cls, entries, found)
            for key, code in codes.items():
                if entries[key].__code__ is not code:
                    found.append(f"{cls.__qualname__}.{key} (its code)")
                    entries[key].__code__ = code
        for name, (module, entries, functions) in saved["modules"].items():
            if sys.modules.get(name, module) is not module:
                found.append(f"sys.modules[{name!r}]")
                sys.modules[name] = module
            restore_mapping(name, module, entries, found)
            for key, (function, code, defaults) in functions.items():
                if function.__code__ is not code or function.__defaults__ is not defaults:
                    found.append(f"{name}.{key} (its code)")
                    function.__code__, function.__defaults__ = code, defaults
        user_ns = shell.user_ns
        for key, value in saved["user"].items():
            if user_ns.get(key, _MISSING) is not value:
                found.append(key)
                user_ns[key] = value
        used = sorted(set(hits))
        hits.clear()
        return {"restored": sorted(set(found)), "answer_key": used}

    plotting = (("matplotlib_inline.backend_inline", "flush_figures"), ("matplotlib.pyplot", "_draw_all_if_interactive"))

    def plotting_callback(callback):
        """What matplotlib registers at a learner's first figure in a notebook: pyplot's redraw and the inline
        backend's ``flush_figures``, each the function of its module as loaded from the environment; nothing else."""
        for module_name, function_name in plotting:
            module = sys.modules.get(module_name)
            if (module is not None and callback is getattr(module, function_name, None)
                    and getattr(callback, "__module__", None) == module_name
                    and getattr(getattr(callback, "__code__", None), "co_filename", None) == module.__file__
                    and module.__file__.startswith(sys.prefix + os.sep)):
                return True
        return False

    def resume():
        """After a test cell: matplotlib's callbacks that were parked for it are registered again."""
        for event, extra in parked.items():
            events = shell.events.callbacks.setdefault(event, [])
            events.extend(cb for cb in extra if not any(cb is have for have in events))
        parked.clear()

    parked = {}

    def handler(comm, message):
        data = message["content"]["data"]
        if not saved.get("ready"):
            take_baseline()
        reply = check() if data.get("action") == "check" else (snapshot(data.get("names", ()))
                                                                      or {"restored": [], "answer_key": []})
        if data.get("resume"):
            resume()
        comm.send({"nonce": data.get("nonce"), **reply})
        comm.close()

    kernel.comm_manager.register_target(target, handler)
