ln -s "$HOSTDIR" sub
