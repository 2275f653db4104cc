"""Training-time augmentation matched to handwriting, on whole batches in TensorFlow.

Small random affine maps (slant, rotation, size, aspect, shift) and a random change of
stroke width: the ways one person's characters differ from another's, and the ways the
preprocessing pipeline's output can differ from EMNIST. Applied in the input pipeline only,
so exported networks carry no augmentation ops.

For real handwriting (issue 13): `pen_copies` redraws every training image along its centre
line with a uniform round pen, as tablets and mice write (numpy, ~1 ms an image, made once per
run; `TrainConfig.pen_fraction` swaps copies in per batch), and `degrade_batch` adds elastic
distortion, blur or sharpening, low resolution and noise (TensorFlow, per batch; off unless
its settings are raised, see AugmentSettings).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class AugmentSettings:
    rotation_deg: float = 10.0
    shear: float = 0.25
    scale: tuple[float, float] = (0.88, 1.06)
    aspect: float = 0.08
    shift_px: float = 1.5
    stroke: float = 0.6  # up to this share of a 3×3 dilation (or erosion) is blended in
    # Image-quality changes (degrade_batch), off by default: in fine-tune probes (blur 0.8,
    # sharpen 0.5, elastic 1 px, low resolution 15 %, noise 0.03 together) they cost 1.4 points
    # direct and 0.7 on UNIPEN and gained nothing on photos (benchmarks/probe_augment.py, README).
    blur: float = 0.0  # blend towards a σ≈0.8 px blur by up to this share...
    sharpen: float = 0.0  # ...or away from it (unsharp masking) by up to this share
    elastic_px: float = 0.0  # smooth random displacement field, up to this many pixels
    low_res: float = 0.0  # share of images shrunk to 10–20 px and enlarged again (small photos)
    noise: float = 0.0  # Gaussian noise of up to this σ on the ink, before the peak is rescaled

    def scaled(self, strength: float) -> AugmentSettings:
        """These settings with every random range multiplied by `strength` (0: no change at all)."""
        low, high = self.scale
        return AugmentSettings(
            rotation_deg=self.rotation_deg * strength,
            shear=self.shear * strength,
            scale=(1.0 - (1.0 - low) * strength, 1.0 + (high - 1.0) * strength),
            aspect=self.aspect * strength,
            shift_px=self.shift_px * strength,
            stroke=min(1.0, self.stroke * strength),
            blur=min(1.0, self.blur * strength),
            sharpen=self.sharpen * strength,
            elastic_px=self.elastic_px * strength,
            low_res=min(1.0, self.low_res * strength),
            noise=self.noise * strength,
        )

    def with_quality(self, blur: float = 0.8, sharpen: float = 0.5, elastic_px: float = 1.0, low_res: float = 0.15,
                     noise: float = 0.03) -> AugmentSettings:
        """These settings with the image-quality changes on (the probes' "quality" variant)."""
        return dataclasses.replace(self, blur=blur, sharpen=sharpen, elastic_px=elastic_px, low_res=low_res, noise=noise)

    def without_quality(self) -> AugmentSettings:
        """Only the geometric and stroke changes (the augmentation before issue 13)."""
        return dataclasses.replace(self, blur=0.0, sharpen=0.0, elastic_px=0.0, low_res=0.0, noise=0.0)


def augment_batch(images, settings: AugmentSettings = AugmentSettings(), seed=None):
    """images: float32 (B, 28, 28, 1) in [0, 1] → augmented images of the same shape."""
    import tensorflow as tf

    batch = tf.shape(images)[0]

    def uniform(low, high):
        return tf.random.uniform([batch], low, high, seed=seed)

    angle = uniform(-1.0, 1.0) * settings.rotation_deg * math.pi / 180.0
    shear = uniform(-settings.shear, settings.shear)
    scale = uniform(*settings.scale)
    aspect = 1.0 + uniform(-settings.aspect, settings.aspect)
    sx, sy = scale * aspect, scale / aspect
    tx, ty = uniform(-settings.shift_px, settings.shift_px), uniform(-settings.shift_px, settings.shift_px)
    cos, sin = tf.cos(angle), tf.sin(angle)
    # Forward map about the image centre: p' = R · Shear · S · (p − c) + c + t; the op wants
    # the inverse (output → input), computed in closed form for the 2×2 part.
    a = cos * sx
    b = (cos * shear - sin) * sy
    c = sin * sx
    d = (sin * shear + cos) * sy
    det = a * d - b * c
    ia, ib, ic, id_ = d / det, -b / det, -c / det, a / det
    centre = 13.5
    ox, oy = centre + tx, centre + ty
    e = centre - (ia * ox + ib * oy)
    f = centre - (ic * ox + id_ * oy)
    zeros = tf.zeros([batch])
    transforms = tf.stack([ia, ib, e, ic, id_, f, zeros, zeros], axis=1)
    warped = tf.raw_ops.ImageProjectiveTransformV3(
        images=images,
        transforms=transforms,
        output_shape=tf.constant([28, 28]),
        fill_value=0.0,
        interpolation="BILINEAR",
        fill_mode="CONSTANT",
    )
    if settings.stroke > 0:
        dilated = tf.nn.max_pool2d(warped, 3, 1, "SAME")
        eroded = -tf.nn.max_pool2d(-warped, 3, 1, "SAME")
        amount = tf.reshape(uniform(-settings.stroke, settings.stroke), [-1, 1, 1, 1])
        target = tf.where(amount > 0, dilated, eroded)
        warped = warped + tf.abs(amount) * (target - warped)
    warped = degrade_batch(warped, settings, seed)
    # Peak back to 1, as EMNIST and the preprocessing pipeline both scale every image.
    peak = tf.reduce_max(warped, axis=[1, 2, 3], keepdims=True)
    return tf.clip_by_value(warped / tf.maximum(peak, 1e-3), 0.0, 1.0)


def _gaussian_kernel(sigma: float, radius: int):
    import tensorflow as tf

    x = tf.range(-radius, radius + 1, dtype=tf.float32)
    g = tf.exp(-(x**2) / (2 * sigma**2))
    g = g / tf.reduce_sum(g)
    return tf.reshape(g[:, None] * g[None, :], [2 * radius + 1, 2 * radius + 1, 1, 1])


def elastic_batch(images, amount_px: float, seed=None, grid: int = 4):
    """Smooth random displacement (a coarse random field, enlarged bilinearly), bilinear sampling."""
    import tensorflow as tf

    batch = tf.shape(images)[0]
    coarse = tf.random.uniform([batch, grid, grid, 2], -amount_px, amount_px, seed=seed)
    field = tf.image.resize(coarse, [28, 28], method="bilinear")
    ys, xs = tf.meshgrid(tf.range(28, dtype=tf.float32), tf.range(28, dtype=tf.float32), indexing="ij")
    x = tf.clip_by_value(xs[None] + field[..., 0], 0.0, 27.0)
    y = tf.clip_by_value(ys[None] + field[..., 1], 0.0, 27.0)
    x0, y0 = tf.floor(x), tf.floor(y)
    x1, y1 = tf.minimum(x0 + 1, 27.0), tf.minimum(y0 + 1, 27.0)
    wx, wy = x - x0, y - y0
    flat = tf.reshape(images, [batch, 28 * 28])

    def at(yy, xx):
        return tf.gather(flat, tf.cast(yy * 28 + xx, tf.int32), batch_dims=1)

    top = at(y0, x0) * (1 - wx) + at(y0, x1) * wx
    bottom = at(y1, x0) * (1 - wx) + at(y1, x1) * wx
    return (top * (1 - wy) + bottom * wy)[..., None]


def degrade_batch(images, settings: AugmentSettings, seed=None):
    """Elastic distortion, blur or sharpening, low resolution and noise: each at a random
    strength per image (B×28×28×1 in [0, 1] → the same shape)."""
    import tensorflow as tf

    batch = tf.shape(images)[0]

    def per_image(values):
        return tf.reshape(values, [-1, 1, 1, 1])

    x = images
    if settings.elastic_px > 0:
        x = elastic_batch(x, settings.elastic_px, seed)
    if settings.blur > 0 or settings.sharpen > 0:
        blurred = tf.nn.conv2d(x, _gaussian_kernel(0.8, 2), 1, "SAME")
        amount = per_image(tf.random.uniform([batch], -settings.sharpen, settings.blur, seed=seed))
        x = tf.maximum(x + amount * (blurred - x), 0.0)
    if settings.low_res > 0:
        side = tf.random.uniform([], 10, 21, dtype=tf.int32, seed=seed)
        small = tf.image.resize(x, tf.stack([side, side]), method="area")
        coarse = tf.image.resize(small, [28, 28], method="bilinear")
        chosen = per_image(tf.cast(tf.random.uniform([batch], seed=seed) < settings.low_res, tf.float32))
        x = chosen * coarse + (1 - chosen) * x
    if settings.noise > 0:
        sigma = per_image(tf.random.uniform([batch], 0.0, settings.noise, seed=seed))
        x = tf.maximum(x + sigma * tf.random.normal(tf.shape(x), seed=seed) * tf.cast(x > 0.05, tf.float32), 0.0)
    return x


# --- redrawing with a round pen (numpy; precomputed copies the batches draw from) -----------

PEN_SIDE = 56  # strokes are thinned and redrawn at twice the input resolution
# Pen widths in PEN_SIDE pixels: about 9 to 18 px at the pipeline's 128-px working size, the
# range the pipeline leaves a drawn stroke in (it brings thinner and thicker pens into it).
PEN_WIDTHS = (3.0, 8.0)


def skeletons(masks: np.ndarray) -> np.ndarray:
    """Centre lines of many binary masks at once (Zhang–Suen thinning, vectorised over the batch):
    N×H×W bool → N×H×W bool, one pixel wide, connectivity kept."""
    image = np.pad(np.asarray(masks, bool), ((0, 0), (1, 1), (1, 1))).astype(np.uint8)
    offsets = ((-1, 0), (-1, 1), (0, 1), (1, 1), (1, 0), (1, -1), (0, -1), (-1, -1))  # P2..P9
    while True:
        changed = False
        for step in (0, 1):
            p = [np.roll(image, (-dy, -dx), axis=(1, 2)) for dy, dx in offsets]
            neighbours = sum(p)
            ring = p + [p[0]]
            transitions = sum(((a == 0) & (b == 1)).astype(np.uint8) for a, b in zip(ring, ring[1:]))
            if step == 0:
                gone = (p[0] * p[2] * p[4] == 0) & (p[2] * p[4] * p[6] == 0)
            else:
                gone = (p[0] * p[2] * p[6] == 0) & (p[0] * p[4] * p[6] == 0)
            remove = (image == 1) & (neighbours >= 2) & (neighbours <= 6) & (transitions == 1) & gone
            if remove.any():
                image[remove] = 0
                changed = True
        if not changed:
            return image[:, 1:-1, 1:-1].astype(bool)


def redraw_with_pen(images: np.ndarray, widths: np.ndarray) -> np.ndarray:
    """Each character's centre line drawn again with a uniform round pen, as a tablet, a mouse
    or a felt pen writes it: N×28×28 uint8 (white on black) and N pen widths in PEN_SIDE pixels
    → N×28×28 uint8, blurred and resampled the way EMNIST and the pipeline make their 28×28."""
    images = np.asarray(images)
    out = np.zeros_like(images, dtype=np.uint8)
    big = np.stack([cv2.resize(image, (PEN_SIDE, PEN_SIDE), interpolation=cv2.INTER_LINEAR) for image in images]) if len(images) else \
        np.zeros((0, PEN_SIDE, PEN_SIDE), np.uint8)
    centres = skeletons(big >= 128)
    sigma = PEN_SIDE / 128  # EMNIST's σ = 1 at 128 px, at this size
    for i, (centre, width) in enumerate(zip(centres, np.asarray(widths, np.float32))):
        if not centre.any():
            out[i] = images[i]
            continue
        distance = cv2.distanceTransform((~centre).astype(np.uint8), cv2.DIST_L2, 5)
        ink = np.clip(width / 2 + 0.5 - distance, 0.0, 1.0)
        small = cv2.resize(cv2.GaussianBlur(ink, (0, 0), sigma), (28, 28), interpolation=cv2.INTER_AREA)
        out[i] = np.round(255 * small / max(float(small.max()), 1e-6))
    return out


def pen_copies(images: np.ndarray, seed: int = 0, widths: tuple[float, float] = PEN_WIDTHS, chunk: int = 2048) -> np.ndarray:
    """A redrawn copy of every image with a random pen width each (deterministic for a seed)."""
    rng = np.random.default_rng(seed)
    drawn = rng.uniform(widths[0], widths[1], len(images)).astype(np.float32)
    parts = [redraw_with_pen(images[start : start + chunk], drawn[start : start + chunk]) for start in range(0, len(images), chunk)]
    return np.concatenate(parts) if parts else np.zeros_like(images)
