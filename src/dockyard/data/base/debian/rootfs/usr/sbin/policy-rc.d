#!/bin/sh
### Usage: called by invoke-rc.d when a package is installed.
### A container has no init system: packages must not try to start their services.
exit 101
