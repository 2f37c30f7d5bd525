-- region_ancestor: the code of the region `ancestor_length` digits long that contains `code` ('0', the nation, for length 0).
create or replace temp macro region_ancestor(code, ancestor_length) as
    case when ancestor_length = 0 then '0' else left(code, ancestor_length) end
