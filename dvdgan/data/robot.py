"""A BAIR-like robot-pushing benchmark rendered on the CPU with PyBullet (``pip install "dvdgan[robot]"``).

A KUKA iiwa arm (recoloured red and black like BAIR's Sawyer) stands behind a bin on a table and pushes 3-5
objects (boxes, cylinders, spheres of random colour, size and pose) along a random path of its tool in the bin's
floor plane: random waypoints at push height, many of them aimed through an object so that something gets pushed,
followed at a constant random speed by inverse kinematics and position control (24 physics steps of 1/240 s per
frame at 10 fps). One fixed camera in front of the bin looks down at it at an angle, so that, as in BAIR, the arm
enters from the top of the frame. Frames come from PyBullet's software renderer (``ER_TINY_RENDERER``) in
``DIRECT`` mode: no GPU and no display. Only files that ship inside the pybullet wheel are used (plane, table,
tray, KUKA iiwa); nothing is downloaded.

Sequence ``i`` of split ``s`` depends only on ``(seed, s, i)``: its random generator is
``np.random.default_rng([seed, SPLIT_CODES[s], i])`` and the simulation is reset and rebuilt for every sequence,
so results do not depend on the order, the number of workers or what was rendered before. Train and test differ
in the second word of the seed, so their streams are disjoint for the same ``seed``.

Output: a prepared store (``frames.u8`` + ``index.json``, the format ``dvdgan prepare`` writes, index written
last and atomically), one per split, unlabelled (no classes: ``dvdgan train`` then trains unconditionally) and
without split tags (a store is one split; ``data.split`` does not filter it). Writing the store directly rather
than videos keeps frames lossless, needs no encode/decode round trip and no second ``dvdgan prepare`` pass, and is
exactly what training reads fastest. Each video entry also records how many objects the arm moved by more than
1 cm (``moved_objects``) and the largest displacement (``max_shift_m``).
"""

from __future__ import annotations

import colorsys
import json
import multiprocessing
import os
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from dvdgan.data.prepare import STORE_ENTRIES
from dvdgan.data.store import FORMAT, FRAMES_FILE, INDEX_FILE, SKIPPED_FILE, VERSION, PreparedStore, write_json_atomic

SPLIT_CODES = {"train": 0, "test": 1}
INSTALL_HINT = 'the robot benchmark needs PyBullet: pip install "dvdgan[robot]"'

# Scene geometry in metres (world z up; the camera looks along -x, so the arm is at the top of the frame).
TABLE_TOP = 0.625  # table/table.urdf's top surface
TRAY_CENTRE = (0.45, 0.0)
FLOOR = TABLE_TOP + 0.015  # top of tray/traybox.urdf's floor slab
FLOOR_HALF = 0.19  # the floor inside the sloped walls spans +-0.21; objects stay 2 cm clear of them
REACH_HALF = 0.14  # tool waypoints: the floor minus the flange's radius (5.5 cm), so the tool never rams a wall
ARM_BASE = (-0.15, 0.0, TABLE_TOP)
TOOL_LINK = 6  # lbr_iiwa_link_7, the flange
FLANGE_LENGTH = 0.048  # the flange's end lies this far beyond its link frame
# The flange's end 2 cm above the floor: it hits every object below its top (all are <= 6 cm tall, below the
# wrist at ~6.7 cm, which would otherwise squash them into the floor and fling them out).
PUSH_HEIGHT = 0.02
MOTOR_FORCE = 50.0  # N m per joint: enough to push 0.1-0.3 kg objects, weak enough not to crush one at a wall
MOVED = 0.01  # an object counts as pushed when it ends more than 1 cm from where it settled

TIME_STEP = 1.0 / 240.0  # PyBullet's default step
IK_EVERY = 6  # physics steps per inverse-kinematics solve (4 per frame at 10 fps; each solve costs ~0.25 ms)
SETTLE_STEPS = 20  # objects are dropped from 1 mm above the floor
SPEED = (0.15, 0.25)  # tool speed, m/s
AIM_PROBABILITY = 0.6  # share of waypoints aimed through an object
OVERSHOOT = (0.05, 0.12)  # how far past the aimed object's centre such a waypoint lies
START_CLEARANCE = 0.09  # objects start this far (plus their radius) from the tool, clear of the wrist

# KUKA's null-space IK limits and rest pose from PyBullet's own examples: keep the elbow up and the wrist above
# the tool.
LOWER = [-0.967, -2.0, -2.96, 0.19, -2.96, -2.09, -3.05]
UPPER = [0.967, 2.0, 2.96, 2.29, 2.96, 2.09, 3.05]
RANGES = [5.8, 4.0, 5.8, 4.0, 5.8, 4.0, 6.0]
REST = [0.0, 0.0, 0.0, 0.5 * np.pi, 0.0, -0.33 * np.pi, 0.0]

CAMERA_EYE, CAMERA_TARGET, CAMERA_FOV = (0.95, 0.0, 1.2), (0.4, 0.0, 0.62), 45.0
LIGHT_DIRECTION = (0.6, 0.3, 1.0)
ARM_COLOURS = ((0.2, 0.2, 0.2, 1.0), (0.7, 0.1, 0.1, 1.0))  # alternating links, dark and Sawyer red
BIN_COLOUR, FLOOR_COLOUR = (0.8, 0.8, 0.78, 1.0), (0.5, 0.5, 0.5, 1.0)  # textures off: the tray's is dark metal


@dataclass(frozen=True)
class RobotOptions:
    """What every sequence of a store shares; the store records them in its settings."""

    size: int = 64  # frames are size x size
    frames: int = 30
    fps: int = 10  # 240 / fps physics steps per frame
    min_objects: int = 3
    max_objects: int = 5

    def __post_init__(self) -> None:
        if self.size < 8 or self.frames < 1:
            raise ValueError(f"size must be >= 8 and frames >= 1, got {self.size} and {self.frames}")
        if self.fps < 1 or 240 % self.fps:
            raise ValueError(f"fps must divide 240 (the physics rate), got {self.fps}")
        if not 1 <= self.min_objects <= self.max_objects <= 8:
            raise ValueError(f"need 1 <= min_objects <= max_objects <= 8, got {self.min_objects}, {self.max_objects}")

    @property
    def substeps(self) -> int:
        return 240 // self.fps


@dataclass(frozen=True)
class ObjectSpec:
    """One object: ``kind`` box | cylinder | sphere; ``half`` its half extents (box), radius and half height
    (cylinder) or radius (sphere); ``radius`` bounds its footprint."""

    kind: str
    half: tuple[float, ...]
    radius: float
    xy: tuple[float, float]
    yaw: float
    colour: tuple[float, float, float, float]
    mass: float

    @property
    def half_height(self) -> float:
        return self.half[-1] if self.kind != "sphere" else self.half[0]


@dataclass
class RobotSequence:
    """A rendered sequence and what happened in it."""

    frames: np.ndarray  # uint8 [T, S, S, 3]
    objects: int
    moved_objects: int  # objects displaced by more than MOVED
    max_shift: float  # metres, the largest displacement of an object


def sequence_rng(seed: int, split: str, index: int) -> np.random.Generator:
    """The generator of sequence ``index`` of ``split``: one independent stream per (seed, split, index)."""
    if split not in SPLIT_CODES:
        raise ValueError(f"split must be one of {sorted(SPLIT_CODES)}, got {split!r}")
    return np.random.default_rng([seed, SPLIT_CODES[split], index])


def _sample_shape(rng: np.random.Generator) -> tuple[str, tuple[float, ...], float]:
    """Kind, half sizes and footprint radius; every object is 3-6 cm tall, under the wrist (see PUSH_HEIGHT)."""
    kind = ("box", "cylinder", "sphere")[rng.integers(3)]
    if kind == "box":
        hx, hy, hz = rng.uniform(0.03, 0.045), rng.uniform(0.03, 0.045), rng.uniform(0.015, 0.03)
        return kind, (hx, hy, hz), float(np.hypot(hx, hy))
    if kind == "cylinder":
        r = rng.uniform(0.03, 0.045)
        return kind, (r, rng.uniform(0.015, 0.03)), r
    r = rng.uniform(0.022, 0.03)
    return kind, (r,), r


def _sample_objects(rng: np.random.Generator, count: int, start: np.ndarray) -> list[ObjectSpec]:
    """Objects on the bin floor, clear of each other, the walls and the tool's start (rejection sampling)."""
    centre = np.array(TRAY_CENTRE)
    placed: list[tuple[np.ndarray, float]] = [(start, START_CLEARANCE)]
    objects = []
    for _ in range(count):
        kind, half, radius = _sample_shape(rng)
        for _ in range(100):  # a free spot nearly always comes within a few tries; else the last one is kept
            xy = centre + rng.uniform(-(FLOOR_HALF - radius), FLOOR_HALF - radius, 2)
            if all(np.linalg.norm(xy - q) > radius + rq + 0.01 for q, rq in placed):
                break
        placed.append((xy, radius))
        # saturated, not too dark: every object stands out against the grey bin
        rgb = colorsys.hsv_to_rgb(rng.uniform(), rng.uniform(0.55, 1.0), rng.uniform(0.45, 1.0))
        objects.append(ObjectSpec(kind, tuple(float(h) for h in half), radius, (float(xy[0]), float(xy[1])),
                                  float(rng.uniform(0, 2 * np.pi)), (*rgb, 1.0), float(rng.uniform(0.1, 0.3))))
    return objects


def _sample_path(rng: np.random.Generator, start: np.ndarray, objects: list[ObjectSpec], length: float) -> np.ndarray:
    """Waypoints ``[K, 2]`` from ``start`` whose polyline is at least ``length`` long; most go through an object."""
    centre = np.array(TRAY_CENTRE)
    lo, hi = centre - REACH_HALF, centre + REACH_HALF
    path, total = [start], 0.0
    while total < length:
        if objects and rng.uniform() < AIM_PROBABILITY:
            target = np.array(objects[rng.integers(len(objects))].xy)
            heading = target - path[-1]
            heading = heading / norm if (norm := np.linalg.norm(heading)) > 1e-6 else np.array([1.0, 0.0])
            point = target + heading * rng.uniform(*OVERSHOOT)
        else:
            point = rng.uniform(lo, hi)
        point = np.clip(point, lo, hi)
        step = float(np.linalg.norm(point - path[-1]))
        if step > 0.01:  # no zero-length segments: positions along the path are interpolated by arc length
            path.append(point)
            total += step
    return np.stack(path)


class _Plan:
    """Where the tool is at time t: constant speed along the waypoint polyline."""

    def __init__(self, path: np.ndarray, speed: float) -> None:
        self.path, self.speed = path, speed
        self.arc = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(path, axis=0), axis=1))])

    def tool(self, t: float) -> list[float]:
        s = min(t * self.speed, self.arc[-1])
        x, y = (float(np.interp(s, self.arc, self.path[:, k])) for k in range(2))
        return [x, y, FLOOR + PUSH_HEIGHT + FLANGE_LENGTH]


def _pybullet() -> tuple[Any, Any, type]:
    """The pybullet module and its client wrapper, imported only when a scene is built."""
    try:
        import pybullet
        import pybullet_data
        from pybullet_utils.bullet_client import BulletClient
    except ImportError:
        raise ImportError(INSTALL_HINT) from None
    return pybullet, pybullet_data, BulletClient


class RobotScene:
    """One headless PyBullet simulation; ``render`` rebuilds the world for each sequence."""

    def __init__(self, options: RobotOptions) -> None:
        pybullet, pybullet_data, client = _pybullet()
        self.options = options
        self.pb = client(connection_mode=pybullet.DIRECT)
        self.data_path = pybullet_data.getDataPath()
        self.view = pybullet.computeViewMatrix(CAMERA_EYE, CAMERA_TARGET, [0, 0, 1])
        self.projection = pybullet.computeProjectionMatrixFOV(CAMERA_FOV, 1.0, 0.05, 5.0)
        self.tool_down = pybullet.getQuaternionFromEuler([0.0, -np.pi, 0.0])

    def close(self) -> None:
        self.pb.disconnect()

    def render(self, seed: int, split: str, index: int) -> RobotSequence:
        """Sequence ``index`` of ``split``: a function of ``(seed, split, index)`` only."""
        opt = self.options
        rng = sequence_rng(seed, split, index)
        centre = np.array(TRAY_CENTRE)
        start = centre + rng.uniform(-REACH_HALF, REACH_HALF, 2)
        objects = _sample_objects(rng, int(rng.integers(opt.min_objects, opt.max_objects + 1)), start)
        speed = float(rng.uniform(*SPEED))
        plan = _Plan(_sample_path(rng, start, objects, speed * opt.frames / opt.fps), speed)

        arm, bodies = self._build(objects)
        self._drive(arm, plan.tool(0.0), reset=True)
        for _ in range(SETTLE_STEPS):
            self.pb.stepSimulation()
        settled = self._positions(bodies)
        frames = np.empty((opt.frames, opt.size, opt.size, 3), np.uint8)
        for f in range(opt.frames):
            if f:
                self._advance(arm, plan, f)
            frames[f] = self._image()
        shifts = np.linalg.norm(self._positions(bodies) - settled, axis=1)
        return RobotSequence(frames, len(objects), int((shifts > MOVED).sum()), float(shifts.max()))

    def _build(self, objects: list[ObjectSpec]) -> tuple[int, list[int]]:
        """A fresh world (nothing carries over from the previous sequence): floor, table, bin, arm, objects."""
        pb = self.pb
        pb.resetSimulation()
        pb.setGravity(0, 0, -9.81)
        pb.setAdditionalSearchPath(self.data_path)
        floor = pb.loadURDF("plane.urdf")
        pb.loadURDF("table/table.urdf", [0.2, 0.0, 0.0], useFixedBase=True)
        tray = pb.loadURDF("tray/traybox.urdf", [*TRAY_CENTRE, TABLE_TOP], useFixedBase=True)
        arm = pb.loadURDF("kuka_iiwa/model.urdf", list(ARM_BASE), useFixedBase=True)
        pb.changeVisualShape(floor, -1, textureUniqueId=-1, rgbaColor=FLOOR_COLOUR)
        pb.changeVisualShape(tray, -1, textureUniqueId=-1, rgbaColor=BIN_COLOUR)
        for link in range(-1, pb.getNumJoints(arm)):
            pb.changeVisualShape(arm, link, rgbaColor=ARM_COLOURS[link % 2])
        return arm, [self._add_object(spec) for spec in objects]

    def _add_object(self, spec: ObjectSpec) -> int:
        pb = self.pb
        if spec.kind == "box":
            shape = {"shapeType": pb.GEOM_BOX, "halfExtents": list(spec.half)}
            collision, visual = pb.createCollisionShape(**shape), pb.createVisualShape(**shape, rgbaColor=spec.colour)
        elif spec.kind == "cylinder":
            r, h = spec.half
            collision = pb.createCollisionShape(pb.GEOM_CYLINDER, radius=r, height=2 * h)
            visual = pb.createVisualShape(pb.GEOM_CYLINDER, radius=r, length=2 * h, rgbaColor=spec.colour)
        else:
            collision = pb.createCollisionShape(pb.GEOM_SPHERE, radius=spec.half[0])
            visual = pb.createVisualShape(pb.GEOM_SPHERE, radius=spec.half[0], rgbaColor=spec.colour)
        position = [*spec.xy, FLOOR + spec.half_height + 0.001]
        body = pb.createMultiBody(spec.mass, collision, visual, position, pb.getQuaternionFromEuler([0, 0, spec.yaw]))
        # a little rolling friction: a pushed sphere slows down instead of rolling on for ever
        pb.changeDynamics(body, -1, rollingFriction=0.001, spinningFriction=0.001)
        return body

    def _joint_targets(self, arm: int, tool: list[float]) -> list[float]:
        return list(self.pb.calculateInverseKinematics(
            arm, TOOL_LINK, tool, self.tool_down, lowerLimits=LOWER, upperLimits=UPPER, jointRanges=RANGES,
            restPoses=REST, maxNumIterations=50)[:7])

    def _drive(self, arm: int, tool: list[float], reset: bool = False) -> None:
        """Set the joint motors to reach ``tool``; ``reset`` also puts the arm there (IK from the rest pose, twice,
        because each solve starts from the current joints)."""
        pb = self.pb
        if reset:
            for joint, q in enumerate(REST):
                pb.resetJointState(arm, joint, q)
            for _ in range(2):
                for joint, q in enumerate(self._joint_targets(arm, tool)):
                    pb.resetJointState(arm, joint, q)
        pb.setJointMotorControlArray(arm, list(range(7)), pb.POSITION_CONTROL,
                                     targetPositions=self._joint_targets(arm, tool), forces=[MOTOR_FORCE] * 7,
                                     positionGains=[0.3] * 7)

    def _advance(self, arm: int, plan: _Plan, frame: int) -> None:
        """Simulate from frame ``frame - 1`` to ``frame``; the motors aim at where the tool should be next."""
        n = self.options.substeps
        for k in range(n):
            step = (frame - 1) * n + k
            if k % IK_EVERY == 0:
                self._drive(arm, plan.tool((step + IK_EVERY) * TIME_STEP))
            self.pb.stepSimulation()

    def _positions(self, bodies: list[int]) -> np.ndarray:
        return np.array([self.pb.getBasePositionAndOrientation(b)[0] for b in bodies])

    def _image(self) -> np.ndarray:
        size = self.options.size
        image = self.pb.getCameraImage(size, size, self.view, self.projection, shadow=1,
                                       lightDirection=list(LIGHT_DIRECTION), renderer=self.pb.ER_TINY_RENDERER,
                                       flags=self.pb.ER_NO_SEGMENTATION_MASK)[2]
        return np.asarray(image, np.uint8).reshape(size, size, 4)[..., :3]


# One scene per worker process, built by the pool's initializer.
_WORKER_SCENE: RobotScene | None = None


def _init_worker(options: RobotOptions) -> None:
    global _WORKER_SCENE
    _WORKER_SCENE = RobotScene(options)


def _render_in_worker(job: tuple[int, str, int]) -> tuple[int, RobotSequence]:
    assert _WORKER_SCENE is not None
    return job[2], _WORKER_SCENE.render(*job)


def render_sequences(seed: int, split: str, indices: list[int], options: RobotOptions,
                     workers: int = 1) -> Iterator[tuple[int, RobotSequence]]:
    """Yield ``(index, sequence)`` in the order of ``indices``, rendered here or by ``workers`` processes."""
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    _pybullet()  # fail here, with the install hint, rather than inside a worker
    if workers == 1 or len(indices) <= 1:
        scene = RobotScene(options)
        try:
            for i in indices:
                yield i, scene.render(seed, split, i)
        finally:
            scene.close()
        return
    # fork starts workers fast and they need nothing from the parent but the jobs; spawn elsewhere
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    jobs = [(seed, split, i) for i in indices]
    with multiprocessing.get_context(method).Pool(min(workers, len(indices)), _init_worker, (options,)) as pool:
        yield from pool.imap(_render_in_worker, jobs, chunksize=2)


@dataclass
class RobotSummary:
    """What ``write_robot_store`` did."""

    out: Path
    videos: int
    frames: int
    seconds: float  # rendering and writing; 0 when the store was already complete
    moved_fraction: float  # share of sequences in which some object moved more than 1 cm
    mean_moved_objects: float
    already_complete: bool = False


def _settings(split: str, count: int, seed: int, options: RobotOptions) -> dict[str, Any]:
    from importlib.metadata import version

    return {"generator": "dvdgan.data.robot", "split": split, "count": count, "seed": seed, **asdict(options),
            "pybullet": version("pybullet")}


def _check_output(out: Path, settings: dict[str, Any], overwrite: bool) -> RobotSummary | None:
    """The summary of a finished store with the same settings, None when ``out`` may be (re)written."""
    if out.exists() and not out.is_dir():
        raise ValueError(f"{out} is a file; the robot benchmark writes a store directory")
    foreign = sorted(e.name for e in out.iterdir() if e.name not in STORE_ENTRIES) if out.is_dir() else []
    if foreign:
        raise ValueError(f"{out} holds files that are not a store's (e.g. {foreign[0]!r}); choose a new directory")
    index = out / INDEX_FILE
    if not index.is_file():
        return None
    try:
        previous = json.loads(index.read_text()).get("settings")
    except json.JSONDecodeError:
        previous = None  # a damaged index: treated as a store of other settings
    if previous == settings:
        try:
            store = PreparedStore(out)  # also checks that the frames file is whole
        except ValueError:
            return None  # damaged: render again
        moved = [v["moved_objects"] for v in store.videos]
        return RobotSummary(out, len(store), store.total_frames, 0.0, float(np.mean(np.array(moved) > 0)),
                            float(np.mean(moved)), already_complete=True)
    if not overwrite:
        raise ValueError(f"{out} already holds a store made with other settings; pass overwrite (--overwrite) or "
                         "choose another directory")
    return None


def write_robot_store(out: str | Path, split: str, count: int, *, seed: int = 0,
                      options: RobotOptions = RobotOptions(), workers: int = 1, overwrite: bool = False,
                      progress: bool = True) -> RobotSummary:
    """Render sequences ``0..count-1`` of ``split`` into the prepared store ``out`` (see the module docstring).

    A finished store with the same settings is kept as it is; one with other settings is replaced only with
    ``overwrite``. ``index.json`` is removed first and written last, so an interrupted run never leaves a store
    that loads.
    """
    if count < 1:
        raise ValueError(f"count must be >= 1, got {count}")
    out = Path(out)
    settings = _settings(split, count, seed, options)
    sequence_rng(seed, split, 0)  # checks the split name before any work
    done = _check_output(out, settings, overwrite)
    if done is not None:
        return done
    out.mkdir(parents=True, exist_ok=True)
    (out / INDEX_FILE).unlink(missing_ok=True)
    started = time.perf_counter()
    videos = _render_frames(out, split, count, seed, options, workers, progress)
    total = count * options.frames
    os.replace(out / f".{FRAMES_FILE}.tmp", out / FRAMES_FILE)
    write_json_atomic(out / SKIPPED_FILE, [])
    write_json_atomic(out / INDEX_FILE, {
        "format": FORMAT, "version": VERSION, "size": options.size, "channels": 3, "total_frames": total,
        "frames_file": FRAMES_FILE, "num_classes": 0, "class_names": [], "videos": videos, "skipped": [],
        "settings": settings, "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    })
    moved = np.array([v["moved_objects"] for v in videos])
    return RobotSummary(out, count, total, time.perf_counter() - started, float(np.mean(moved > 0)),
                        float(moved.mean()))


def _render_frames(out: Path, split: str, count: int, seed: int, options: RobotOptions, workers: int,
                   progress: bool) -> list[dict[str, Any]]:
    """Append every sequence's frames to the temporary frames file, in index order; return the video entries."""
    videos = []
    size = options.size
    bar = tqdm(total=count, unit="seq", desc=f"robot {split}", disable=not progress)
    with (out / f".{FRAMES_FILE}.tmp").open("wb") as f, bar:
        for i, seq in render_sequences(seed, split, list(range(count)), options, workers):
            f.write(memoryview(np.ascontiguousarray(seq.frames)).cast("B"))
            videos.append({"path": f"{split}/{i:06d}", "label": 0, "class": None, "tags": [],
                           "offset": i * options.frames, "length": options.frames, "fps": float(options.fps),
                           "source_size": [size, size], "objects": seq.objects, "moved_objects": seq.moved_objects,
                           "max_shift_m": round(seq.max_shift, 4)})
            bar.update()
        f.flush()
        os.fsync(f.fileno())
    return videos
