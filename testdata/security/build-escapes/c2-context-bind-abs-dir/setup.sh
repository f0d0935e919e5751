ln -s "$HOSTDIR" hostdir
