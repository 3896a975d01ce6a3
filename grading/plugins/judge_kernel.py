"""The student's side of the judge: runs in each graded kernel (this file's text, with wire.py's, is sent to
the kernel before the first cell; the grader never imports it).

It answers the judge's requests, one per ``execute_request`` (``serve(text)``): fetch a global of the notebook, read
an attribute, call, index or take the length of an object it holds. The answer is published on IOPub as display
data of type :data:`wire.MIME`: the result as data when it is data, else a reference to an object kept here (the
judge never receives the object itself), the warnings raised during the request, and for a call the values of the
NumPy arrays passed in, so that the judge sees what the student's code changed in them.

Nothing here is trusted: a student may replace or break it. Then the judge gets no answer, or a wrong one, for the
student's own code: the tests that needed it fail. The verdict is never computed here.
"""


def install(wire_source: str, module_name: str) -> None:
    """Run the wire format's text as a module of its own and register :func:`serve` as ``module_name``."""
    import json
    import sys
    import types
    import warnings

    shell = get_ipython()  # noqa: F821 (the kernel's own)
    wire = types.ModuleType("_nn_wire")
    exec(compile(wire_source, "<nn-judge-wire>", "exec"), wire.__dict__)
    objects, by_identity = {}, {}

    def ref(value):
        number = by_identity.get(id(value))
        if number is None or objects.get(number) is not value:
            number = len(objects) + 1
            objects[number] = value
            by_identity[id(value)] = number
        return {"t": "ref", "id": number, "type": wire.type_info(value)}

    def deref(number, _info):
        if number not in objects:
            raise LookupError(f"the grader asked for an object this kernel does not hold ({number})")
        return objects[number]

    def publish(answer):
        shell.display_pub.publish(data={wire.MIME: answer}, metadata={})

    def serve(text):
        request = json.loads(text)
        answer = {"nonce": request.get("nonce")}
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                result, args, kwargs = _perform(request)
            answer["ok"] = wire.encode(result, ref)
            answer["warnings"] = [[type(w.message).__name__ if isinstance(w.message, Warning) else "UserWarning",
                                   str(w.message)[:500]] for w in caught[:20]]
            if request["op"] == "call":
                answer["writeback"] = {
                    "args": {str(i): wire.encode(a) for i, a in enumerate(args) if wire._is_data_array(a)},
                    "kwargs": {k: wire.encode(a) for k, a in kwargs.items() if wire._is_data_array(a)}}
        except BaseException as error:  # noqa: BLE001 (every failure of the student's code is the judge's to report)
            answer.pop("ok", None)
            answer["error"] = {"ename": type(error).__name__[:100], "evalue": str(error)[:2000]}
        publish(answer)

    def _perform(request):
        op, args, kwargs = request["op"], (), {}
        if op == "get":
            name = request["name"]
            if name not in shell.user_ns:
                raise NameError(f"name '{name}' is not defined")
            return shell.user_ns[name], args, kwargs
        target = deref(request["ref"], None)
        if op == "getattr":
            return getattr(target, request["name"]), args, kwargs
        if op == "len":
            return len(target), args, kwargs
        if op == "getitem":
            return target[wire.decode(request["key"], deref)], args, kwargs
        if op == "call":
            args = tuple(wire.decode(request["args"], deref))
            kwargs = wire.decode(request["kwargs"], deref)
            return target(*args, **kwargs), args, kwargs
        raise ValueError(f"unknown request {op!r}")

    module = types.ModuleType(module_name)
    module.serve = serve
    sys.modules[module_name] = module
