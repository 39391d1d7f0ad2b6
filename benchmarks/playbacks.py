"""Benchmark building a playback (a clip published with a sound) against transcoding the same clip
alone, measured in the same run.

``process(clip, out, probe, soundtrack=Soundtrack(sound, offset_seconds=10))`` against
``transcode(clip, out, probe)`` (the reference: the clip alone, always encoded, never remuxed),
on a 15 s clip. Goal: playback_time / reference_time <= 1.2. Duets and stitches
(``playback.media.compose``) are timed against the same reference, for information.

Figures are ratios of medians of alternated runs; absolute seconds are printed too, but only as
a hint (shared machines are noisy). Run ``python benchmarks/playbacks.py --help`` for the options.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av
import av.error
import numpy as np
from _media import make_phone_clip, shared_video
from rich.console import Console
from rich.progress import (
    Progress,
    TaskID,
)

from playback.kit.progress import progress_bar
from playback.media.audio import AUDIO_RATE, Soundtrack, normalize_audio
from playback.media.compose import duet, stitch
from playback.media.errors import MediaError
from playback.media.probe import Limits, probe
from playback.media.transcode import is_web_ready, process, transcode

PLAYBACK_GOAL = 1.2  # playback_time / transcode_time
CLIP_SECONDS = 15.0
SOUND_OFFSET = 10.0  # where in the sound the playback starts
STITCH = (0.0, 5.0)  # start and length of the original's part, seconds
SOUND_FILE = "mdn_outfoxing_kevin_macleod.mp3"  # 97 s of music, in ../shared/media/music
SHARED_MUSIC = Path(__file__).resolve().parent.parent.parent / "shared" / "media" / "music"

console = Console(highlight=False, soft_wrap=True)


@dataclass
class Contender:
    name: str
    run: Callable[[Path], object]  # writes the given output file
    walls: list[float] = field(default_factory=list)
    cpus: list[float] = field(default_factory=list)
    output: Path | None = None

    @property
    def wall(self) -> float:
        return statistics.median(self.walls)

    @property
    def cpu(self) -> float:
        return statistics.median(self.cpus)


@dataclass
class Case:
    label: str
    clip: Path
    sound: Path
    original: Path  # a web-ready MP4 made by the pipeline, for the duet and the stitch
    contenders: list[Contender] = field(default_factory=list)


# --- inputs ------------------------------------------------------------------------------------


def cut(src: Path, dst: Path, seconds: float, container: str) -> Path:
    """The first ``seconds`` of ``src``, packets copied (no re-encoding) into a ``container``
    file: what a 15 s upload of the same footage would be."""
    with av.open(str(src)) as inp, av.open(str(dst), "w", format=container) as out:
        streams = [*inp.streams.video[:1], *inp.streams.audio[:1]]
        mapping = {s.index: out.add_stream_from_template(s) for s in streams}
        for packet in inp.demux(streams):
            if packet.size == 0 or packet.pts is None or packet.time_base is None:
                continue
            if packet.pts * packet.time_base >= seconds:
                continue
            packet.stream = mapping[packet.stream.index]
            out.mux(packet)
    return dst


def make_sound(dst: Path, seconds: float = 60.0) -> Path:
    """A stored sound (AAC in MP4, as sounds are kept) of a changing chord, when ../shared is not
    there."""
    raw = dst.with_suffix(".wav")
    with av.open(str(raw), "w", format="wav") as out:
        stream = out.add_stream("pcm_f32le", rate=AUDIO_RATE, layout="stereo")
        step = AUDIO_RATE // 10
        for start in range(0, int(seconds * AUDIO_RATE), step):
            t = (start + np.arange(step)) / AUDIO_RATE
            root = 220 * 2 ** ((start // AUDIO_RATE) % 12 / 12)
            wave = sum(np.sin(2 * math.pi * root * r * t) for r in (1.0, 1.25, 1.5)) * 0.2
            samples = np.stack([wave, wave]).astype(np.float32)
            frame = av.AudioFrame.from_ndarray(samples, format="fltp", layout="stereo")
            frame.sample_rate = AUDIO_RATE
            frame.pts, frame.time_base = start, Fraction(1, AUDIO_RATE)
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    normalize_audio(raw, dst)
    raw.unlink()
    return dst


def stored_sound(workdir: Path) -> tuple[str, Path]:
    """The sound bed as the app keeps it: a normalised .m4a (AAC 48 kHz stereo)."""
    music = SHARED_MUSIC / SOUND_FILE
    dst = workdir / "sound.m4a"
    if music.is_file():
        normalize_audio(music, dst)
        return f"{SOUND_FILE} → AAC .m4a", dst
    return "a generated 60 s chord → AAC .m4a", make_sound(dst)


def clips(given: Path | None, workdir: Path, progress: Progress) -> list[tuple[str, Path]]:
    if given is not None:
        if not given.is_file():
            raise SystemExit(f"no such file: {given}")
        return [(given.name, given)]
    found: list[tuple[str, Path]] = []
    webm = shared_video("moviepy_big_buck_bunny_0_30.webm")
    if webm is not None:
        first = cut(webm, workdir / "bbb-15s.webm", CLIP_SECONDS, "webm")
        found.append(("BBB webm VP8+Vorbis 1280x720, first 15 s", first))
    task = progress.add_task("generating the synthetic 720x1280 clip", total=None)
    phone = make_phone_clip(
        workdir / "phone-720x1280-15s.mp4", width=720, height=1280, seconds=CLIP_SECONDS,
        on_frame=lambda done, total: progress.update(task, completed=done, total=total),
    )  # fmt: skip
    progress.remove_task(task)
    found.append(("synthetic H.264 720x1280 15 s", phone))
    return found


# --- running -----------------------------------------------------------------------------------


def contenders(case: Case, threads: int) -> list[Contender]:
    clip, sound, original = case.clip, case.sound, case.original
    soundtrack = Soundtrack(sound, offset_seconds=SOUND_OFFSET)
    return [
        Contender("transcode", lambda d: transcode(clip, d, probe(clip), threads=threads)),
        Contender(
            "playback",
            lambda d: process(clip, d, probe(clip), threads=threads, soundtrack=soundtrack),
        ),
        Contender("duet", lambda d: duet(clip, probe(clip), original, d, threads=threads)),
        Contender(
            "stitch",
            lambda d: stitch(original, *STITCH, clip, probe(clip), d, threads=threads),
        ),
    ]


def race(case: Case, repeat: int, workdir: Path, progress: Progress, task: TaskID) -> None:
    """Every contender once per round, in an order that turns each round, so none always runs
    first (cold) or right after the same neighbour."""
    for i in range(repeat):
        turn = i % len(case.contenders)
        for contender in case.contenders[turn:] + case.contenders[:turn]:
            dst = workdir / f"{case.clip.stem}-{contender.name}.mp4"
            dst.unlink(missing_ok=True)
            progress.update(task, description=f"{case.label}: {contender.name} {i + 1}/{repeat}")
            wall, cpu = time.perf_counter(), time.process_time()
            contender.run(dst)
            contender.walls.append(time.perf_counter() - wall)
            contender.cpus.append(time.process_time() - cpu)
            contender.output = dst
            progress.console.print(
                f"  {contender.name:<9} run {i + 1}/{repeat}  {contender.walls[-1]:7.3f} s wall"
                f"  {contender.cpus[-1]:7.3f} s cpu"
            )
            progress.advance(task)


def describe(path: Path) -> tuple[str, bool]:
    """One line about an output file, and whether it is a valid web-ready MP4 with sound."""
    try:
        p = probe(path, Limits(min_seconds=0.1))
    except (MediaError, av.error.FFmpegError, OSError) as exc:
        return f"INVALID ({exc})", False
    w, h = p.display_size
    ok = is_web_ready(p) and p.audio_codec == "aac"
    size = path.stat().st_size
    return (
        f"h264 {w}x{h} {p.fps:g} fps, {p.audio_codec}, {p.duration_ms / 1000:.2f} s, "
        f"{size / 1e6:.2f} MB{'' if ok else '  NOT web-ready'}",
        ok,
    )


def report(case: Case) -> bool:
    """Print a case's figures; False when an output was invalid."""
    reference = case.contenders[0]
    console.print(f"\n[bold]{case.label}[/]")
    valid = True
    for contender in case.contenders:
        ratio = contender.wall / reference.wall
        cpu_ratio = contender.cpu / reference.cpu
        if contender.name == "playback":
            verdict = "PASS" if ratio <= PLAYBACK_GOAL else "MISS"
            colour = "green" if verdict == "PASS" else "red"
            figure = f"{ratio:.2f}  (goal ≤ {PLAYBACK_GOAL:g})  [{colour}]{verdict}[/]"
        elif contender is reference:
            figure = "1.00  (the reference)"
        else:
            figure = f"{ratio:.2f}  (for information)"
        console.print(f"  [bold]{contender.name:<9}[/] {figure}")
        walls = ", ".join(f"{w:.3f}" for w in contender.walls)
        console.print(
            f"    median {contender.wall:7.3f} s wall, {contender.cpu:7.3f} s cpu"
            f" (cpu ratio {cpu_ratio:.2f})  (runs: {walls})"
        )
        assert contender.output is not None
        line, ok = describe(contender.output)
        valid = valid and ok
        console.print(f"    → {line}")
    return valid


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=2, help="codec threads (2)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each contender (3)")
    parser.add_argument("--input", type=Path, help="benchmark this clip instead of the defaults")
    args = parser.parse_args(argv)
    repeat = max(1, args.repeat)

    console.print(f"[bold]Playback benchmark[/]  threads={args.threads} repeat={repeat}")
    major, minor, micro = av.library_versions["libavcodec"]
    console.print(f"  PyAV {av.__version__}, libavcodec {major}.{minor}.{micro}")
    console.print(f"  machine: {os.cpu_count()} CPUs, load average {_load()} before the runs")
    with tempfile.TemporaryDirectory(prefix="playback-bench-") as tmp:
        workdir = Path(tmp)
        progress = progress_bar(console, refresh_per_second=4)
        cases: list[Case] = []
        with progress:
            sound_label, sound = stored_sound(workdir)
            progress.console.print(f"  sound: {sound_label}, from {SOUND_OFFSET:g} s")
            for label, clip in clips(args.input, workdir, progress):
                # The video answered by the duet and the stitch: the pipeline's own output of
                # the same footage (web-ready, full size), made once, untimed.
                original = workdir / f"{clip.stem}-original.mp4"
                transcode(clip, original, probe(clip), threads=args.threads)
                case = Case(label, clip, sound, original)
                case.contenders = contenders(case, args.threads)
                cases.append(case)
                progress.console.print(f"  clip: {label}: {describe(clip)[0].split('  NOT')[0]}")
            task = progress.add_task("runs", total=sum(len(c.contenders) for c in cases) * repeat)
            for case in cases:
                race(case, repeat, workdir, progress, task)
            progress.update(task, description="done")
        console.print(f"\nload average {_load()} after the runs")
        if os.getloadavg()[0] > (os.cpu_count() or 1):
            console.print(
                "[yellow]warning: the machine was busy (load above the CPU count): other "
                "processes competed for the CPUs, so even the ratios are rough[/]"
            )
        console.print(
            "ratio = median wall time / median wall time of transcode() of the clip alone "
            "(the cpu ratio, of CPU seconds of all threads, is a check on it)"
        )
        reported = [report(case) for case in cases]  # every case, even after an invalid one
        valid = all(reported)
        met = sum(
            c.wall / case.contenders[0].wall <= PLAYBACK_GOAL
            for case in cases
            for c in case.contenders
            if c.name == "playback"
        )
        console.print(f"\n{met}/{len(cases)} goals met" + ("" if valid else "; INVALID outputs"))
    return 0 if valid else 1


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


if __name__ == "__main__":
    sys.exit(main())
