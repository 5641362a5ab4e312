"""Build of voiceboard: the Python packages plus the cffi extension voiceboard._native."""
from setuptools import find_packages, setup

setup(
    name="voiceboard",
    version="0.1.0",
    description="Telephony voice-board driver and IVR runtime with a C DSP core",
    python_requires=">=3.11",
    packages=find_packages(include=["voiceboard", "voiceboard.*", "drivers", "drivers.*", "ivr", "ivr.*"]),
    package_data={"voiceboard": ["data/*"], "ivr": ["data/*"]},
    setup_requires=["cffi>=1.15"],
    install_requires=["cffi>=1.15", "numpy>=1.24", "PyYAML>=6", "sounddevice>=0.4", "pyserial>=3.5"],
    cffi_modules=["native/build_native.py:ffibuilder"],
    entry_points={"console_scripts": ["voiceboard = voiceboard.cli:main", "ivr = ivr.cli:main",
                                      "ivrd = ivr.daemon:main", "ivrctl = ivr.ctl:main"]},
    zip_safe=False,
)
