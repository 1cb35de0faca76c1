from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


async def upgrade(db: BaseDBAsyncClient) -> str:
    return """
        ALTER TABLE "invoice" ADD "service_period_start" TIMESTAMPTZ;
        ALTER TABLE "invoice" ADD "service_period_end" TIMESTAMPTZ;"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
        ALTER TABLE "invoice" DROP COLUMN "service_period_start";
        ALTER TABLE "invoice" DROP COLUMN "service_period_end";"""


MODELS_STATE = (
    "eJztXW1z2joW/isef9nuTLaTkDTJze7sDCS0l9sEOoG03dt0PAIU8I2RqC3nZXrz31cyfr"
    "dsbIOJ7OpLINI5wn6OJJ9X+ae6wFNoWG/b9lQnl3imnik/VQQWkH5J9O0pKlgugx7WQMDY"
    "cIgBo9IMl2xsERNMCO24A4YFadMUWhNTXxIdI9qKbMNgjXhCCXU0C5pspP+woUbwDJI5NG"
    "nHt++0WUdT+AQt9u839RGb99YSTCD7rYkJAYFTDRD1O6Nc3mt3OjSmkVvRp4zUadfI89Jp"
    "u7npXbx3KNmVjLUJNuwFCqiXz2SOkU9u2/r0LeNhfTOIoMl+NnSH7AZcNLym1c3QBmLa0L"
    "+LadAwhXfANhhO6n/ubDRh8CjOL7E/R/91Ly1Epmn9wUgbdkeaphaAdYIRE4mOCMPw58tq"
    "3AAQp1VlP3D+e/v6zeHxPx0IsEVmptPpwKW+OIyAgBWrI48AZfgAEdF4WJ/PgcnHOswTQ5"
    "xecA6sXSR9qD2SAOtgCnooejhVgKy6AE+aAdGMzOm/rXfvMqD+3L520KZUDtyYrpnVauq7"
    "Xa1VH4M9gBk406QIyAFHKYgT01kojI+PckB8fJSKMOuKAjyGd9iESYD/GA76fIADjhjAU3"
    "1ClL8VQ7dI/eZyBq4MCjbywrJ+GGE831y1v8ahPr8cdOLbCRugE5/YdwSaRWD3GSTq5VEP"
    "PUAT0F/QHqIvIB/+KGdcBi7rW+9LHTcaeoPTATKe3VmSIZpR76o7HLWvPkXkc9EedVlPy2"
    "l9jrW+OY7JzB9E+dIb/a6wf5U/B/1uXIw+3ehPlV0TsAnWEH7UwDSkXHitHmrxhwg2uc/q"
    "dL0ozLOBdlSf9bZWFwrw9HXSgpjG+SSuLy9Mjb+756qYEdU/ivF7+gTWZ+gjfHaQ7tGLAW"
    "jCeyi7hs2X8Fi1xDZoDS7RBI++AZSYXRQEeuuQrPTF9vC8fdFVk/vCFsC9sWANtfe8uIZ3"
    "wgim9AKU/s3lpepM4jGY3D8Cc6pFZjPrwS0ca/Fpk12L1iLeAhCYOfCw+2BX7cLeQw86Ae"
    "5tJ0z5UO9eljGvR+l2aM3TaUVsS6VE31S4ALoRbpTm/eua9548ctv2HkMDrc7D1n4Os5NS"
    "pdqdTl9UiTCxwXmwMYC7yF4kdt4I2B6vyFirgy/97vWZ4nzcovbFVa9/pjgft+iqe9Vhna"
    "tPtYRMDvKI5CBdIgcJgRB8D5E2B9a8yLyPcm1HIOu3mBo7XNwNvuTMD7h3N/fVT93+Ra//"
    "oeAO7rGdKe4XugjOz7ufRt0Lug7cb7fouvt58JE1uV9uUffrp941a3G/iLE8pOsgHfrmug"
    "7g01Kno5WQepSzgVKviZQ9TDLFTIdaYgpjmeUd592CqMW0FBshacfco7IaPxd0XiUYpfdK"
    "OK9gjbbI+rkFBQW3Ar9gsNSlc3ANuIldUTQPIdYnUOW7B52uvTW+QZ9op45BOizUXLtB+g"
    "Jf2RfoiqNYrk+EqXFukUpyfbxpb1sELyA/YLsW8Bh3VV6SpkFvj/1L08rN99QRKsp0a5gE"
    "kL0Y8xKC0hEPOJqXS7hbt2vahrJ7V+sOQzq5IjoZAZ2Ef9Q2TYgmHJU5HeIwTxNBzoNxOs"
    "SJXNgFthHRpjbH8uvosx4iKalMEb4Yzky1rwjn/apAnrEr+Ndvrdbh4Ulr//D49N3Rycm7"
    "0/1TSutcbrLrJEMUnd6HXn8UFQNr4KK/BLznYg74PUaJ/0b4myzQjtjllRFChFtKopwkCC"
    "aAkxuRBb/PIjEvh/mcmqxwqrkOCc02OQIYwacU+PncTVAbs0IT3a+jSFQikUDuRyYuB/0P"
    "Hnk8qzy2CxECF0tCsbURJ1KUvv/E+RqzEFoHRydHp4fHR/7891uypn1yio91w6C/R/doYB"
    "Ur+UlyNmFqV20RLaGp4ym11YFZOOYZ55UxT5Fjnq60IOJorrnk7HJKKYssZQuaD+zpvsm6"
    "ThtDSr5Gki+xzvkjSKkLLfVolLCoxBPcMkVNbHEjsLTmmHAz1LJs7xhjYwyPHVvgMv83XS"
    "DNzf+1l9OSUo9ySqmLInXOZutevVCpjPVRnOqXySgmtltKZHydTLsryJIRrLm+VDnJdqHe"
    "vax8u0WUbqspd7EcO5ulZX6P5eHJRLtXTbSTJaGClYT+hXVUSvmJMErdRxTdJ5fGa6WkXq"
    "bvdyEWWbwhq2J+KV1SUHArqIqxLV5+alX1MHXFNbQXiqSfDyEgA5uM8ZPK0c9DvZn6uUXp"
    "NBwQrlPQ1bYSqPTKZA7QDCpDx/P8D0thoyk/bICITp6VhW0R5Q4bBn78t/Jo6oRApOhIof"
    "q7YtHLpWgDZK1O93wbV48q/aH19TuF7IYsX23eFEF35olbLbJDF22GPVE4k2TDDBLRNq3K"
    "c76lT/wXtBAQfGLBpFVCW3HRc9h3I/9dboA1EXeuyKMrK07xzLp0R171TH0DjlvLdFyaeA"
    "Itq9TGGefdSY6GXDnlVo4BLKJB0+SdMpqerR3lakIq666ztKXTRTpdRHQOiBzBG4YKuFWe"
    "jyDcv5fpJYhTVnl0hgzZybMxcqG9MzNbno3RNOjlyQGVepGWBkDaPSx0ckCYpwkactXFXv"
    "R3oPnAK9tNxzjM0zyMT3NAfJqK8Glil2ChES/GUMBTkuCT7pJE5jUzHAyN4pRV4NLB2IAA"
    "pbibU4aIgT2mY1SFtt+yW92uMxhcRuzrTi9uQN+whKM3B85cp0Q6gWvkUNjZH2aURUUie6"
    "xWoioX0omySjmLLGdY8rDrMJ+UsMgSXp2tRTYqB04bQ0q+RpIvUQ7MH0FKXWSp0zsFRhlh"
    "RxiljEWWsUFRt4h/jlMp52vWGM2z8it1xsrK+19i1cnK+9etvLcmczi1jZL7HZ9b7nS5dr"
    "olVQvYyWplvZup/KXWgmj4bzstLAwWvLuDE6I/wDI5YlkDSQ1P6GcNE5n1jCbM2Calq2E5"
    "w+zwfZHD//XP3dc2FiiOXXGdKavPW5R8feT7du+SUaw+1RKbZBVBHwfmwkl+HNYmPJN2ne"
    "nnw1jKm5nklrujyLujrDdJ3+eaW28iz2BqmtQ5i13EM5hEk7bM4W5ADncoJ4vABSevsOOy"
    "vf94DQ3gJVHzAQ8nZffocA3C/WVXye4ObmsS3j1s8yW9a7pHLjPfZea7zHzfzAVp6ik6QE"
    "Z2cIingSnYFeJsYHxvLwtnY3N4m+DN2AHsJZzqMls4y4ve+EMEO+1h90wZAwveomG3PTpz"
    "zre5RTf9j/3Bl/6ZYqN7alMhAfyjMgdtS3qK4Ma7zEGTUlcTRlAhM4TDKj032Z6beJ31hs"
    "6beIF3PSFe67/hTDSRyvCd4xE53gjv2MR0D4R3PqN0OjTY6WCP/4ITjg6V4XIIWKTDIY9F"
    "xl4RXKhO1mdonsl72Mpzpjilyij3Tpwq7nwWwNejbx68rf088FKq9Pm7n4BXBsnT0a9nuF"
    "QGyX9FqacFyRMWQZ5YI7CnOtEMPNss3thmw1yuRqnXxpsaZoxmkyGnMkYnDg4bBmd7/kAN"
    "hSs4cntDpKLvB6rZ9vIqAewvcDzH+L77AJ3fS5iLkf69LLPxcUWpQZ+0Svvxm4odc8S1vG"
    "O1UN8LmZcZJ9fI+OoacyfdxHTgKoC1Ry9yzKQk3getPPEQSpX+SqVWIiYSmf95QY4wNdAO"
    "klWaormlBdeEkwaQCSdQfyhlAcVYGyjomppAeQzf2h2mLld4yRWObTLBaa7D9ckdIfYd1s"
    "Jdd8+7vc/Fq+E8vjPF+3aLPl0PzrvDIWv0v96i3of+4Jq1uV9YJshlr/+RNXnftlE7t/3X"
    "SxYumpOlchuUysnXeGwh06yA861S898vtODZ/uEqjAzDP0Img8aNDRrvNN4mnOYbe4ble4"
    "hlPcVkwE3aHUw8TsZQGalHOeULnAQ2OTwv0Ku/diEu4mZ6pcPeHHYNk3ILLMEs7XrRFpkM"
    "YlcWlX2d+LVomkdeqNghmJvjxEZp6HSSQf7cUMVej14equj72BsJVSgLf4tnIDQJrir9R2"
    "1I9aO5ynEeuT17WZ4jENAI4zZK9WFylW6O99Ldm8VNBdlKnWy6l+iB7s3cQqJ0+ybE0kBf"
    "USV2DVtUBRB2yRuIbjWeOIyIm8UWRfiP4aCf4oILWOJWIrUglb8VQ7cqi3S8joHIwMiOLs"
    "UDSXtRo48N0HntYMjL/wEdu0Ee"
)
