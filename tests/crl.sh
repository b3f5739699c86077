#!/bin/sh
echo "placeholder: being written"
exit 1
