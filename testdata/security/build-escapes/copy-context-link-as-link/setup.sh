ln -s "$HOSTDIR" hostdir; ln -s "$HOSTDIR/secret" hostfile
