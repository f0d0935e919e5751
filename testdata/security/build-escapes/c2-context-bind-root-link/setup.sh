ln -s / top
