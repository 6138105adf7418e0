"""`jixiao import`: collect the workbooks that budget units send in, from files, folders, archives and mail."""
