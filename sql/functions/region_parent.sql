-- region_parent: the code of the region directly above `code` ('0' above a province; null above the nation or for a malformed code).
create or replace temp macro region_parent(code) as
    case length(code)
        when 2 then '0' when 4 then left(code, 2) when 6 then left(code, 4)
        when 10 then left(code, 6) when 13 then left(code, 10)
    end
