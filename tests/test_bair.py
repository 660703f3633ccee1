"""BAIR robot pushing: TFRecords in the release's exact schema (written here, no TensorFlow) -> `dvdgan prepare`
-> a store with train and test splits and the exact image_aux1 pixels -> `dvdgan train`; damaged files each give
one line naming the file and record."""

from __future__ import annotations

import shutil
import struct
from pathlib import Path

import numpy as np
import pytest

from _train_helpers import MICRO
from dvdgan.cli import main
from dvdgan.config import DataConfig, load_preset
from dvdgan.data import PreparedStore, build_dataset
from dvdgan.data.resize import resize_clip
from dvdgan.data.tfrecord import crc32c, crc32c_numpy, crc32c_python, iter_records, parse_example
from dvdgan.protocols import Protocol
from dvdgan.training import checkpoint as ckpt
from dvdgan.training.evaluate import _generator_inputs, _real_clips
from dvdgan.training.metric_plan import protocol_dataset
from dvdgan.video import video_to_uint8

STEPS, SEQUENCES = 30, 3
FILES = {"train": ["traj_0_to_2.tfrecords", "traj_3_to_5.tfrecords"], "test": ["traj_0_to_2.tfrecords"]}


# ---- a test-side TFRecord / tf.train.Example writer (protobuf wire format by hand) ----------------------------

def _varint(value: int) -> bytes:
    value &= (1 << 64) - 1  # negative int64: ten bytes of two's complement, as protobuf writes them
    out = bytearray()
    while value >= 0x80:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    return bytes(out + bytes([value]))


def _len_field(number: int, payload: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def bytes_feature(*values: bytes) -> bytes:
    return _len_field(1, b"".join(_len_field(1, v) for v in values))


def float_feature(values: list[float], packed: bool = True) -> bytes:
    if packed:
        body = _len_field(1, struct.pack(f"<{len(values)}f", *values))
    else:  # one fixed32 field per value: legal, and what some writers emit
        body = b"".join(_varint(1 << 3 | 5) + struct.pack("<f", v) for v in values)
    return _len_field(2, body)


def int64_feature(values: list[int], packed: bool = False) -> bytes:
    if packed:
        body = _len_field(1, b"".join(_varint(v) for v in values))
    else:
        body = b"".join(_varint(1 << 3 | 0) + _varint(v) for v in values)
    return _len_field(3, body)


def example(features: dict[str, bytes]) -> bytes:
    entries = b"".join(_len_field(1, _len_field(1, key.encode()) + _len_field(2, value))
                       for key, value in features.items())
    return _len_field(1, entries)


def _mask(crc: int) -> int:
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def record(data: bytes, declared: int | None = None) -> bytes:
    header = struct.pack("<Q", len(data) if declared is None else declared)
    return header + struct.pack("<I", _mask(crc32c(header))) + data + struct.pack("<I", _mask(crc32c(data)))


def bair_sequence(aux1: np.ndarray, main_cam: np.ndarray, seed: int) -> bytes:
    """One BAIR record: per step both cameras' raw frames, the action (packed floats, as TF writes them) and the end
    effector position (unpacked floats)."""
    rng = np.random.default_rng(seed)
    features = {}
    for t in range(len(aux1)):
        features[f"{t}/action"] = float_feature(rng.normal(size=4).tolist())
        features[f"{t}/endeffector_pos"] = float_feature(rng.normal(size=3).tolist(), packed=False)
        features[f"{t}/image_aux1/encoded"] = bytes_feature(aux1[t].tobytes())
        features[f"{t}/image_main/encoded"] = bytes_feature(main_cam[t].tobytes())
    return example(features)


@pytest.fixture(scope="module")
def bair(tmp_path_factory) -> tuple[Path, dict[str, np.ndarray]]:
    """``ROOT/softmotion30_44k/{train,test}``; returns the root and the expected aux1 frames per index path."""
    root = tmp_path_factory.mktemp("bair")
    rng = np.random.default_rng(0)
    expected = {}
    for split, names in FILES.items():
        (root / "softmotion30_44k" / split).mkdir(parents=True)
        for name in names:
            data = b""
            for k in range(SEQUENCES):
                aux1, main_cam = rng.integers(0, 256, (2, STEPS, 64, 64, 3), dtype=np.uint8)
                data += record(bair_sequence(aux1, main_cam, seed=k))
                expected[f"{split}/{name}#{k}"] = aux1
            (root / "softmotion30_44k" / split / name).write_bytes(data)
    return root, expected


@pytest.fixture(scope="module")
def store16(bair, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("store16") / "bair-16"
    assert main(["prepare", str(bair[0]), str(out), "--size", "16", "--format", "bair", "--quiet"]) == 0
    return out


# ---- tests -----------------------------------------------------------------------------------------------------

def test_crc32c_matches_published_values() -> None:
    # RFC 3720 B.4 vectors, the CRC-catalogue check value and the crc32c package's README example
    cases = {bytes(32): 0x8A9136AA, b"\xff" * 32: 0x62A8AB43, bytes(range(32)): 0x46DD794E,
             b"123456789": 0xE3069283, b"hello world": 3381945770}
    for data, want in cases.items():
        assert crc32c_python(data) == want and crc32c_numpy(data * 1) == want and crc32c(data) == want
    data = np.random.default_rng(1).integers(0, 256, 70_001, dtype=np.uint8).tobytes()
    whole = crc32c_python(data)
    assert crc32c_numpy(data) == whole  # the vectorised chunks and merges, an odd length and chunk count
    assert crc32c_numpy(data[5000:], crc32c_numpy(data[:5000])) == whole  # continuing from a previous value
    assert crc32c_numpy(data[:-1] + b"\x00") != whole


def test_example_decoder_reads_every_list_kind_and_encoding() -> None:
    data = example({"b": bytes_feature(b"", b"\x00\xff" * 9), "fp": float_feature([1.5, -2.0]),
                    "fu": float_feature([3.25], packed=False), "iu": int64_feature([0, -1, 2**62]),
                    "ip": int64_feature([7, -(2**63)], packed=True), "empty": b""})
    parsed = parse_example(data)
    assert parsed["b"] == [b"", b"\x00\xff" * 9]
    assert parsed["fp"].dtype == np.float32 and parsed["fp"].tolist() == [1.5, -2.0]
    assert parsed["fu"].tolist() == [3.25]
    assert parsed["iu"].tolist() == [0, -1, 2**62] and parsed["ip"].tolist() == [7, -(2**63)]
    assert parsed["empty"] == []
    for bad in (data[:-3], data + b"\x0b", b"\x0a\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01"):
        with pytest.raises(ValueError):  # truncated message, a group (wire type 3), an 11-byte varint
            parse_example(bad)


def test_example_decoder_agrees_with_protobuf() -> None:
    """The protobuf package (not used by dvdgan) serialises an Example of the same schema: we read it the same."""
    pytest.importorskip("google.protobuf")
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

    # tensorflow/core/example/{example,feature}.proto, rebuilt as descriptors (no .proto compiler needed)
    f = descriptor_pb2.FieldDescriptorProto
    one, many, msg = f.LABEL_OPTIONAL, f.LABEL_REPEATED, f.TYPE_MESSAGE
    proto = descriptor_pb2.FileDescriptorProto(name="example_test.proto", package="tf", syntax="proto3")
    for name, kind in (("BytesList", f.TYPE_BYTES), ("FloatList", f.TYPE_FLOAT), ("Int64List", f.TYPE_INT64)):
        proto.message_type.add(name=name).field.add(name="value", number=1, type=kind, label=many)
    feature = proto.message_type.add(name="Feature")
    feature.oneof_decl.add(name="kind")
    for number, (name, kind) in enumerate((("bytes_list", "BytesList"), ("float_list", "FloatList"),
                                           ("int64_list", "Int64List")), start=1):
        feature.field.add(name=name, number=number, type=msg, type_name=f".tf.{kind}", oneof_index=0, label=one)
    features = proto.message_type.add(name="Features")
    entry = features.nested_type.add(name="FeatureEntry")
    entry.options.map_entry = True
    entry.field.add(name="key", number=1, type=f.TYPE_STRING, label=one)
    entry.field.add(name="value", number=2, type=msg, type_name=".tf.Feature", label=one)
    features.field.add(name="feature", number=1, type=msg, type_name=".tf.Features.FeatureEntry", label=many)
    proto.message_type.add(name="Example").field.add(name="features", number=1, type=msg, type_name=".tf.Features",
                                                     label=one)
    pool = descriptor_pool.DescriptorPool()
    pool.Add(proto)
    message = message_factory.GetMessageClass(pool.FindMessageTypeByName("tf.Example"))()
    message.features.feature["0/image_aux1/encoded"].bytes_list.value.append(bytes(range(256)) * 48)
    message.features.feature["0/action"].float_list.value.extend([0.5, -1.25, 3.0, 1e-3])
    message.features.feature["n"].int64_list.value.extend([5, -3])
    parsed = parse_example(message.SerializeToString())
    assert parsed["0/image_aux1/encoded"] == [bytes(range(256)) * 48]
    assert np.array_equal(parsed["0/action"], np.float32([0.5, -1.25, 3.0, 1e-3]))
    assert parsed["n"].tolist() == [5, -3]
    mine = example({"x": float_feature([2.5, 4.0], packed=False), "y": int64_feature([-7, 9], packed=True)})
    message.ParseFromString(mine)  # and protobuf reads what this test's writer makes as intended
    assert list(message.features.feature["x"].float_list.value) == [2.5, 4.0]
    assert list(message.features.feature["y"].int64_list.value) == [-7, 9]


def test_prepare_keeps_splits_and_exact_aux1_pixels(bair, tmp_path, capsys) -> None:
    root, expected = bair
    out = tmp_path / "bair-64"
    # auto-detected (no --format), given the folder above softmotion30_44k
    assert main(["prepare", str(root), str(out), "--size", "64", "--quiet", "--workers", "2"]) == 0
    assert "kept 9 videos (270 frames of 64x64); skipped 0; decoded 9" in capsys.readouterr().out
    store = PreparedStore(out)
    assert (len(store), store.total_frames, store.size, store.num_classes) == (9, 270, 64, 0)
    assert [v["path"] for v in store.videos] == list(expected)  # split, then trajectory order
    for i, v in enumerate(store.videos):
        assert store.tags(i) == (v["path"].split("/")[0],) and store.length(i) == STEPS and store.label(i) == 0
        assert np.array_equal(store.video(i), expected[v["path"]])  # image_aux1, not image_main
    for split, count in (("train", 6), ("test", 3), ("all", 9)):
        data = build_dataset(DataConfig(source=f"prepared:{out}", split=split), num_frames=16, resolution=64)
        assert len(data) == count and data.num_classes == 0
    assert main(["prepare", str(root / "softmotion30_44k"), str(out), "--size", "64", "--quiet"]) == 0
    assert "already complete: 9 videos, 270 frames" in capsys.readouterr().out


def test_prepare_resizes_and_takes_one_split(bair, store16, tmp_path) -> None:
    root, expected = bair
    store = PreparedStore(store16)
    assert (len(store), store.size) == (9, 16)
    first = store.videos[0]["path"]
    assert np.array_equal(store.video(0), resize_clip(expected[first], 16))
    out = tmp_path / "test-only"
    assert main(["prepare", str(root / "softmotion30_44k" / "test"), str(out), "--size", "64", "--stride", "2",
                 "--max-frames", "10", "--quiet"]) == 0
    store = PreparedStore(out)
    assert [v["path"] for v in store.videos] == [f"test/traj_0_to_2.tfrecords#{k}" for k in range(SEQUENCES)]
    assert store.tags(0) == ("test",) and store.length(0) == 10
    assert np.array_equal(store.video(2), expected["test/traj_0_to_2.tfrecords#2"][:20:2])


def _corrupt_crc(data: bytes) -> bytes:
    second = len(data) // SEQUENCES  # records are the same size: the start of record 1
    return data[: second + 5000] + bytes([data[second + 5000] ^ 1]) + data[second + 5001 :]


def _truncated(data: bytes) -> bytes:
    return data[: len(data) // SEQUENCES + 1000]  # record 1 ends early


def _huge(data: bytes) -> bytes:
    # record 1 claims 1 TiB with a valid length checksum: reading it first would be a MemoryError, not one line
    return data[: len(data) // SEQUENCES] + record(b"", declared=1 << 40)


def _not_bair(data: bytes) -> bytes:
    return record(example({"0/image/encoded": bytes_feature(bytes(12288))}))


@pytest.mark.parametrize(("damage", "reason"), [
    (_corrupt_crc, "data checksum mismatch; the file is corrupt"),
    (_truncated, "bytes but only 984 remain; truncated download?"),
    (_huge, "declares 1,099,511,627,776 bytes but only 0 remain"),
    (_not_bair, "record 0: no '0/image_aux1/encoded' feature; not a BAIR robot-pushing record"),
])
def test_damaged_files_are_one_line_errors_and_the_rerun_resumes(bair, tmp_path, capsys, damage, reason) -> None:
    root = tmp_path / "copy"
    shutil.copytree(bair[0] / "softmotion30_44k", root)
    bad = root / "train" / "traj_3_to_5.tfrecords"
    good = bad.read_bytes()
    bad.write_bytes(damage(good))
    out = tmp_path / "out"
    argv = ["prepare", str(root), str(out), "--size", "64", "--quiet", "--workers", "1"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    where = "record 0" if damage is _not_bair else f"record 1 (byte {len(good) // SEQUENCES})"
    assert err.count("\n") == 1 and err.startswith(f"dvdgan prepare: error: {bad}: {where}") and reason in err
    with pytest.raises(ValueError, match="not a complete prepared store"):
        PreparedStore(out)  # nothing that loads
    bad.write_bytes(good)  # the re-download; the two files done before are reused
    assert main(argv) == 0  # in order: train file 0 was done, file 1 failed, the test file never started
    assert "kept 9 videos (270 frames of 64x64); skipped 0; decoded 6, 3 reused" in capsys.readouterr().out


def test_reader_messages_and_the_record_size_cap(bair, tmp_path) -> None:
    path = bair[0] / "softmotion30_44k" / "test" / "traj_0_to_2.tfrecords"
    assert [n for n, _ in iter_records(path)] == [0, 1, 2]
    with pytest.raises(ValueError, match=r"record 0 \(byte 0\): declares 7\d\d,\d{3} bytes, more than the 1,000"):
        next(iter_records(path, max_bytes=1000))
    damaged = tmp_path / "d.tfrecords"
    for data, message in ((_corrupt_crc(path.read_bytes()), "data checksum mismatch"),
                          (b"\x01" * 20, "length checksum mismatch"), (b"\x00" * 5, "ends inside the record header")):
        damaged.write_bytes(data)
        with pytest.raises(ValueError, match=message):
            list(iter_records(damaged))


def test_a_bair_store_trains(store16, tmp_path, capsys) -> None:
    run = tmp_path / "run"
    argv = ["train", "--preset", "tiny-fp", "--data", f"prepared:{store16}", "--out", str(run), "--steps", "2",
            "--quiet"]
    for item in [*MICRO, "model.context_frames=1", "train.eval_every=0"]:
        argv += ["--set", item]
    assert main(argv) == 0
    assert ckpt.read_checkpoint(ckpt.checkpoint_path(run, 2))["config"]["model"]["num_classes"] == 0
    # the train split only (6 of 9 sequences), unconditional
    assert f"data prepared:{store16}: 6 videos, unlabelled" in capsys.readouterr().err


def test_a_benchmark_protocol_takes_the_test_sequences_first_frames_in_order(store16) -> None:
    """As fvd25600_16f_bair on the real release: real clip i is test sequence i's frames 0..T-1, and each one's
    first frame is the context of ``per_context`` predictions in a row."""
    cfg = load_preset("tiny-fp").override(["model.resolution=16", "model.num_frames=9", "model.context_frames=1"])
    cfg = cfg.with_values({"data.source": f"prepared:{store16}"})
    protocol = Protocol("fvd6_9f_t", num_real=3, num_fake=6, num_frames=9, split="test", first_frames=True,
                        per_context=2)
    data = protocol_dataset(cfg, protocol)
    store = PreparedStore(store16)
    tests = [i for i in range(len(store)) if store.tags(i) == ("test",)]
    assert len(data) == len(tests) == 3
    for k, (clip, _) in enumerate(_real_clips(data, range(3), seed=5, in_order=True)):
        assert np.array_equal(clip, store.read(tests[k], np.arange(9)))
    (batch,) = _generator_inputs(cfg, data, 6, range(6), 6, "cpu", seed=0, protocol=protocol)
    context = batch[3]
    firsts = np.stack([store.read(tests[k // 2], [0])[0] for k in range(6)])
    assert np.array_equal(video_to_uint8(context)[:, 0].numpy(), firsts)
    four = Protocol("fvd8_9f_t", num_real=4, num_fake=8, num_frames=9, split="test", first_frames=True, per_context=2)
    with pytest.raises(ValueError, match=r"first 9 frames of 4 videos of split 'test', but prepared:.* has 3"):
        protocol_dataset(cfg, four)
