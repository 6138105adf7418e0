"""`jixiao check`: identify, safely open and validate the .xlsx workbooks that budget units submit."""
