"""Malformed and unsupported ONNX models for tests/onnx.sh: each must be refused by colnet
with a message naming the problem (and the node, where there is one), never a crash.

  bad_models.py OUT_DIR    writes OUT_DIR/*.onnx and OUT_DIR/expect.tsv (file, then a
                           phrase colnet's message must contain)
"""
import os
import sys

import numpy as np
from onnx import TensorProto, helper, numpy_helper


def conv_model(name, attrs=None, opset=13, in_dims=("N", 1, 8, 8), w_floats=None, nodes=None,
               extra_inits=()):
    w = np.ones((4, 1, 3, 3), np.float32)
    winit = numpy_helper.from_array(w, "w")
    if w_floats is not None:  # dims say 4x1x3x3, the data holds w_floats values
        winit = TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[4, 1, 3, 3],
                            float_data=[1.0] * w_floats)
    if nodes is None:
        nodes = [helper.make_node("Conv", ["x", "w"], ["y"], name="conv1", **(attrs or {}))]
    g = helper.make_graph(nodes, name, [helper.make_tensor_value_info("x", TensorProto.FLOAT,
                                                                      list(in_dims))],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
                          [winit, *extra_inits])
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])


def varint(n):
    out = bytearray()
    while True:
        b, n = n & 0x7F, n >> 7
        out.append(b | 0x80 if n else b)
        if not n:
            return bytes(out)


def deeply_nested(levels):
    """graph -> node -> attribute -> graph ... levels deep: protobuf-c would recurse each."""
    sizes, size = [], 0
    for _ in range(levels):
        for num in (6, 5, 1):  # AttributeProto.g, NodeProto.attribute, GraphProto.node
            sizes.append((num, size))
            size += len(varint(num << 3 | 2)) + len(varint(size))
    head = varint(7 << 3 | 2) + varint(size)  # ModelProto.graph
    return head + b"".join(varint(num << 3 | 2) + varint(n) for num, n in reversed(sizes))


def main():
    out = sys.argv[1]
    relu = lambda i, o, n: helper.make_node("Relu", [i], [o], name=n)
    cases = {
        "dilations": (conv_model("d", {"dilations": [2, 2]}), "conv1' (Conv): dilations"),
        "group": (conv_model("g", {"group": 2}), "conv1' (Conv): group 2"),
        "auto_pad": (conv_model("a", {"auto_pad": "SAME_UPPER"}), "conv1' (Conv): auto_pad"),
        "opset": (conv_model("o", opset=99), "opset 99"),
        "absurd_dims": (conv_model("h", in_dims=("N", 1, 100000, 8)), "fixed sizes"),
        "dynamic_hw": (conv_model("h", in_dims=("N", 1, "H", 8)), "only the batch may be dynamic"),
        "init_size": (conv_model("s", w_floats=10), "its data has 10 values"),
        "cycle": (conv_model("c", nodes=[relu("x", "t1", "r1"), relu("t1", "t2", "r2"),
                                         relu("t2", "t1", "r3")]), "cycle"),
        "branch": (conv_model("b", nodes=[
            relu("x", "t", "r1"), relu("t", "a", "left"), relu("t", "b", "right"),
            helper.make_node("Add", ["a", "b"], ["y"], name="join")]), "branches"),
        "unknown_op": (conv_model("u", nodes=[helper.make_node("Erf", ["x"], ["y"], name="erf1")]),
                       "erf1' (Erf): operator Erf is not supported"),
        "dynamic_reshape": (conv_model("r", nodes=[
            helper.make_node("Shape", ["x"], ["s"], name="shape1"),
            helper.make_node("Reshape", ["x", "s"], ["y"], name="reshape1")]), "dynamic shapes"),
        "maxpool_ceil": (conv_model("m", nodes=[helper.make_node(
            "MaxPool", ["x"], ["y"], name="pool1", kernel_shape=[2, 2], ceil_mode=1)]),
            "pool1' (MaxPool): ceil_mode"),
        "asym_pads": (conv_model("p", {"pads": [1, 1, 0, 0]}), "conv1' (Conv): pads"),
    }
    with open(os.path.join(out, "nested.onnx"), "wb") as m:
        m.write(deeply_nested(50000))
    with open(os.path.join(out, "expect.tsv"), "w") as f:
        f.write("nested.onnx\tnested deeper\n")
        for name, (model, phrase) in cases.items():
            with open(os.path.join(out, name + ".onnx"), "wb") as m:
                m.write(model.SerializeToString())
            f.write("%s.onnx\t%s\n" % (name, phrase))


if __name__ == "__main__":
    main()
