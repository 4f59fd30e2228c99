"""Generation over ONNX decoders: settings (config), logits processors, stopping, decoding strategies (search),
step models (models). Import the submodules: the task table reads the settings' rules at boot, which must not
bring the decoding code with it."""
