"""The Model panel: the network and the run's settings (preset, architecture, epochs, batch,
learning rate, validation, augmentation, dropout, label smoothing, subset, strategy), remembered
between runs."""

from __future__ import annotations

from PySide6.QtCore import Qt, Slot
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QSpinBox,
    QWidget,
)

from app.settings import value
from app.widgets.auto_spin import WordedMinimumSpinBox
from app.widgets.elided_label import FixedLinesLabel
from lenet_core import adapt, models, presets
from lenet_core.training import TrainConfig


def _members(model) -> set[str]:
    import zipfile

    try:
        with zipfile.ZipFile(model.path) as archive:
            return set(archive.namelist())
    except (OSError, zipfile.BadZipFile):
        return set()


class RunSettingsPanel(QGroupBox):
    """The controls of a run; `settings()` gives them as TrainConfig fields."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__("Model", parent)
        self.preset_combo = QComboBox()
        self.preset_combo.setObjectName("trainPreset")
        self.preset_combo.addItem("Custom", None)
        for name, preset in presets.PRESETS.items():
            self.preset_combo.addItem(name.capitalize(), name)
            self.preset_combo.setItemData(self.preset_combo.count() - 1, preset.summary, Qt.ItemDataRole.ToolTipRole)
        self.preset_combo.setToolTip(
            "Fill in a tested recipe; change any setting afterwards. Custom starts from settings for a short run on "
            "your own data (dropout and a 10 % validation part guard a small set); Quick and Full are the EMNIST "
            "recipes of the README (no dropout, no validation part: the cosine schedule ends the run)")
        self.preset_combo.activated.connect(self._on_preset_chosen)
        self._preset_extra: dict = {}  # a preset's settings that have no control here (its warm-up)
        self.strategy_combo = QComboBox()
        self.strategy_combo.setObjectName("trainStrategy")
        self.strategy_combo.addItem("One device", "default")
        self.strategy_combo.addItem("Mirrored: every GPU here", "mirrored")
        self.strategy_combo.setToolTip("tf.distribute: mirrored trains on every local GPU (one CPU replica without a GPU); "
                                       "several machines: the command line's --strategy multi-worker")
        self.base_combo = QComboBox()
        self.base_combo.setObjectName("trainBase")
        self.base_combo.addItem("scratch", None)
        self.base_combo.setToolTip("Train a new network from scratch, or fine-tune a model you have: its classes and "
                                   "architecture are kept, a few EMNIST images of every class are mixed in")
        self.base_combo.currentIndexChanged.connect(self._on_base_changed)
        self._fine_tuning = False
        self.architecture_combo = QComboBox()
        for name, architecture in models.ARCHITECTURES.items():
            self.architecture_combo.addItem(name, name)
            self.architecture_combo.setItemData(self.architecture_combo.count() - 1, architecture.summary, Qt.ItemDataRole.ToolTipRole)
        self.architecture_combo.currentIndexChanged.connect(self._on_architecture_changed)
        self.epochs_spin = QSpinBox(minimum=1, maximum=500, value=10)
        self.batch_spin = WordedMinimumSpinBox("auto", minimum=0, maximum=8192, value=128)  # 0: the probe's batch
        self.batch_spin.setObjectName("trainBatch")
        self.batch_spin.setToolTip("Samples per step; \"auto\" (type it, or go below 1): the batch that trains fastest on this machine, "
                                   "measured once and kept, with the learning rate scaled to it (the rate is for batch 128)")
        self.lr_spin = QDoubleSpinBox(decimals=5, minimum=0.00001, maximum=1.0, singleStep=0.0001)
        self.lr_spin.setToolTip("Adam's learning rate at the start (cosine decay to 2% by the end)")
        self.validation_spin = QSpinBox(minimum=0, maximum=50, value=10, suffix=" %")
        self.validation_spin.setToolTip("Share of each class held out to validate after every epoch")
        self.augment_check = QCheckBox("on")
        self.augment_check.setToolTip("Random small shifts, rotations, scaling and stroke width changes while training")
        self.augment_check.setChecked(True)
        self.augment_strength_spin = QDoubleSpinBox(decimals=2, minimum=0.1, maximum=3.0, singleStep=0.1, value=1.0, prefix="× ")
        self.augment_strength_spin.setObjectName("trainAugmentStrength")
        self.augment_strength_spin.setToolTip("Scales every augmentation range (1 = ±10° rotation, ±0.25 shear, "
                                              "88–106 % size, ±1.5 px shift, stroke width ±60 %)")
        self.augment_check.toggled.connect(self.augment_strength_spin.setEnabled)
        augment_row = QHBoxLayout()
        augment_row.addWidget(self.augment_check)
        augment_row.addWidget(self.augment_strength_spin, 1)
        self.dropout_spin = QDoubleSpinBox(decimals=2, minimum=0.0, maximum=0.9, singleStep=0.05)
        self.dropout_spin.setObjectName("trainDropout")
        self.dropout_spin.setToolTip("Share of the dense layers' units dropped at random while training (the architecture's default when chosen)")
        self.smoothing_spin = QDoubleSpinBox(decimals=2, minimum=0.0, maximum=0.5, singleStep=0.05)
        self.smoothing_spin.setObjectName("trainLabelSmoothing")
        self.smoothing_spin.setToolTip("Label smoothing: aim for this much less than 100 % certainty (0.1 trained the shipped models)")
        self.max_samples_spin = QSpinBox(minimum=0, maximum=10_000_000, singleStep=1000)
        self.max_samples_spin.setSpecialValueText("all")
        self.max_samples_spin.setToolTip("Train on a random subset, for a quick run")
        self.device_label = FixedLinesLabel("probing…", lines=2)  # Start/Stop below stay put
        self.device_label.setObjectName("trainDevice")
        self.form = QFormLayout(self)
        self.form.addRow("Preset", self.preset_combo)
        self.form.addRow("Start from", self.base_combo)
        self.form.addRow("Architecture", self.architecture_combo)
        self.form.addRow("Epochs", self.epochs_spin)
        self.form.addRow("Batch size", self.batch_spin)
        self.form.addRow("Learning rate", self.lr_spin)
        self.form.addRow("Validation", self.validation_spin)
        self.form.addRow("Augmentation", augment_row)
        self.form.addRow("Dropout", self.dropout_spin)
        self.form.addRow("Label smoothing", self.smoothing_spin)
        self.form.addRow("Samples", self.max_samples_spin)
        self.form.addRow("Strategy", self.strategy_combo)
        self.form.addRow("Device", self.device_label)
        self.settings_widgets = [self.base_combo, self.architecture_combo, self.epochs_spin, self.batch_spin, self.lr_spin,
                                 self.validation_spin, self.augment_check, self.augment_strength_spin, self.dropout_spin,
                                 self.smoothing_spin, self.max_samples_spin, self.preset_combo, self.strategy_combo]

    def settings(self) -> dict:
        """The TrainConfig fields these controls set."""
        return dict(
            base=self.base_combo.currentData(),
            architecture=self.architecture_combo.currentData(),
            epochs=self.epochs_spin.value(),
            batch_size=self.batch_spin.value() or self._reference_batch(),
            auto_batch_size=self.batch_spin.value() == 0,
            learning_rate=self.lr_spin.value(),
            validation_fraction=self.validation_spin.value() / 100,
            augment=self.augment_check.isChecked(),
            augment_strength=self.augment_strength_spin.value(),
            dropout=self.dropout_spin.value(),
            label_smoothing=self.smoothing_spin.value(),
            max_samples=self.max_samples_spin.value() or None,
            strategy=self.strategy_combo.currentData(),
            **self._preset_extra,
        )

    def _reference_batch(self) -> int:
        """The batch an "auto" run's learning rate is meant for (as `lenet-studio train --batch-size auto`)."""
        return adapt.FINE_TUNE_BATCH if self.base_combo.currentData() is not None else TrainConfig.batch_size

    @Slot(int)
    def _on_preset_chosen(self, index: int) -> None:
        """Fill the controls with the preset's recipe (Custom leaves them as they are)."""
        name = self.preset_combo.itemData(index)
        self._preset_extra = {}
        if name is None:
            return
        recipe = presets.PRESETS[name].settings
        self.architecture_combo.setCurrentIndex(max(0, self.architecture_combo.findData(recipe["architecture"])))
        self._on_architecture_changed()  # the architecture's rate and dropout, unless the recipe names them
        self.epochs_spin.setValue(recipe["epochs"])
        self.batch_spin.setValue(recipe["batch_size"])
        if recipe.get("learning_rate"):
            self.lr_spin.setValue(recipe["learning_rate"])
        self.validation_spin.setValue(round(100 * recipe["validation_fraction"]))
        self.dropout_spin.setValue(recipe["dropout"])
        self.smoothing_spin.setValue(recipe["label_smoothing"])
        self._preset_extra = {k: v for k, v in recipe.items() if k in ("warmup_epochs", "schedule")}

    def set_locked(self, locked: bool) -> None:
        for widget in self.settings_widgets:
            widget.setEnabled(not locked)
        self.augment_strength_spin.setEnabled(not locked and self.augment_check.isChecked())
        self.architecture_combo.setEnabled(not locked and self.base_combo.currentData() is None)
        self.dropout_spin.setEnabled(not locked and self.base_combo.currentData() is None)  # a base keeps its own

    def set_models(self, bundles) -> None:
        """The models one can start from (shipped and the user's); the choice is kept when still listed."""
        current = self.base_combo.currentData()
        self.base_combo.blockSignals(True)
        while self.base_combo.count() > 1:
            self.base_combo.removeItem(1)
        for model in bundles:
            if "model.keras" in _members(model):
                self.base_combo.addItem(f"{model.name} (fine-tune)", str(model.path))
        index = self.base_combo.findData(current)
        self.base_combo.setCurrentIndex(max(index, 0))
        self.base_combo.blockSignals(False)
        self._on_base_changed()

    def choose_base(self, path: str | None) -> bool:
        index = self.base_combo.findData(path)
        if index >= 0:
            self.base_combo.setCurrentIndex(index)
        return index >= 0

    @Slot()
    def _on_base_changed(self) -> None:
        from lenet_core.adapt import FINE_TUNE_LEARNING_RATE

        fine_tuning = self.base_combo.currentData() is not None
        self.architecture_combo.setEnabled(not fine_tuning and self.base_combo.isEnabled())
        self.dropout_spin.setEnabled(not fine_tuning and self.base_combo.isEnabled())
        if fine_tuning == self._fine_tuning:
            return  # another base, or the list refilled: the settings the user made stay
        self._fine_tuning = fine_tuning
        if fine_tuning:
            self.lr_spin.setValue(FINE_TUNE_LEARNING_RATE)
            self.architecture_combo.setToolTip("Fine-tuning keeps the base model's architecture")
        else:
            self._on_architecture_changed()

    def restore(self, settings) -> None:
        if settings is None:
            self._on_architecture_changed()
            return
        architecture = value(settings, "train/architecture", models.DEFAULT_ARCHITECTURE, str)
        index = self.architecture_combo.findData(architecture)
        self.architecture_combo.setCurrentIndex(max(index, 0))
        self._on_architecture_changed()
        self.epochs_spin.setValue(value(settings, "train/epochs", self.epochs_spin.value(), int))
        self.batch_spin.setValue(value(settings, "train/batch_size", self.batch_spin.value(), int))
        self.lr_spin.setValue(value(settings, "train/learning_rate", self.lr_spin.value(), float))
        self.validation_spin.setValue(value(settings, "train/validation_percent", self.validation_spin.value(), int))
        self.augment_check.setChecked(value(settings, "train/augment", True, bool))
        self.augment_strength_spin.setValue(value(settings, "train/augment_strength", 1.0, float))
        self.dropout_spin.setValue(value(settings, "train/dropout", self.dropout_spin.value(), float))
        self.smoothing_spin.setValue(value(settings, "train/label_smoothing", 0.0, float))
        self.max_samples_spin.setValue(value(settings, "train/max_samples", 0, int))
        preset = value(settings, "train/preset", "", str)
        index = self.preset_combo.findData(preset or None)
        self.preset_combo.setCurrentIndex(max(index, 0))
        if preset in presets.PRESETS:
            recipe = presets.PRESETS[preset].settings
            self._preset_extra = {k: v for k, v in recipe.items() if k in ("warmup_epochs", "schedule")}
        self.strategy_combo.setCurrentIndex(max(0, self.strategy_combo.findData(value(settings, "train/strategy", "default", str))))

    def remember(self, settings) -> None:
        settings.setValue("train/architecture", self.architecture_combo.currentData())
        settings.setValue("train/epochs", self.epochs_spin.value())
        settings.setValue("train/batch_size", self.batch_spin.value())
        settings.setValue("train/learning_rate", self.lr_spin.value())
        settings.setValue("train/validation_percent", self.validation_spin.value())
        settings.setValue("train/augment", self.augment_check.isChecked())
        settings.setValue("train/augment_strength", self.augment_strength_spin.value())
        settings.setValue("train/dropout", self.dropout_spin.value())
        settings.setValue("train/label_smoothing", self.smoothing_spin.value())
        settings.setValue("train/max_samples", self.max_samples_spin.value())
        settings.setValue("train/preset", self.preset_combo.currentData() or "")
        settings.setValue("train/strategy", self.strategy_combo.currentData())

    @Slot()
    def _on_architecture_changed(self) -> None:
        architecture = models.ARCHITECTURES[self.architecture_combo.currentData()]
        self.lr_spin.setValue(architecture.learning_rate)
        self.dropout_spin.setValue(architecture.dropout)
        self.architecture_combo.setToolTip(architecture.summary)
