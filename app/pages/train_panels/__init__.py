"""The Train page's panels, one job each: where the data comes from (`data_source`), how the
network is set up (`run_settings`), the run as it goes (`run_view`), what it scored
(`result_view`) and keeping it (`save_panel`). `app.pages.train.TrainPage` wires them together.
"""
